package org.halyard.mode.batch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.apache.james.mime4j.MimeException;
import org.apache.james.mime4j.stream.EntityState;
import org.apache.james.mime4j.stream.Field;
import org.apache.james.mime4j.stream.MimeConfig;
import org.apache.james.mime4j.stream.MimeTokenStream;
import org.apache.james.mime4j.stream.NameValuePair;
import org.apache.james.mime4j.stream.RawBody;
import org.apache.james.mime4j.stream.RawField;
import org.apache.james.mime4j.stream.RawFieldParser;
import org.halyard.rest.api.ApiException;

/**
 * Reads a {@code multipart/form-data} body (RFC 7578) as a stream with mime4j: small text
 * fields are collected, the file part is handed on as a stream without being held in memory.
 */
final class Multipart {

    /** Receives each part. */
    interface Handler {
        /** A text field (at most 64 KiB). */
        void field(String name, String value) throws IOException;

        /** A file part: its stream is valid during the call only. */
        void file(String name, String filename, InputStream content) throws Exception;
    }

    private static final int MAX_FIELD_BYTES = 64 * 1024;

    private Multipart() {
    }

    /**
     * Parses the body.
     *
     * @throws ApiException 400 when the body is not multipart/form-data
     */
    static void parse(InputStream body, String contentType, Handler handler) throws Exception {
        if (contentType == null || !contentType.toLowerCase(java.util.Locale.ROOT).startsWith("multipart/form-data")
                || !contentType.toLowerCase(java.util.Locale.ROOT).contains("boundary=")) {
            throw new ApiException(415, "Upload files as multipart/form-data with the fields 'purpose' and 'file'.",
                    null, "unsupported_media_type");
        }
        MimeConfig config = new MimeConfig.Builder().setMaxLineLen(-1).setMaxHeaderLen(64 * 1024)
                .setMaxHeaderCount(64).build();
        MimeTokenStream stream = new MimeTokenStream(config);
        stream.parseHeadless(body, contentType);
        String name = null;
        String filename = null;
        try {
            for (EntityState state = stream.getState(); state != EntityState.T_END_OF_STREAM; state = stream.next()) {
                switch (state) {
                    case T_START_BODYPART -> {
                        name = null;
                        filename = null;
                    }
                    case T_FIELD -> {
                        Field f = stream.getField();
                        if (f.getName().equalsIgnoreCase("Content-Disposition")) {
                            RawBody rb = RawFieldParser.DEFAULT.parseRawBody(f instanceof RawField r ? r
                                    : RawFieldParser.DEFAULT.parseField(f.getRaw()));
                            for (NameValuePair p : rb.getParams()) {
                                if (p.getName().equalsIgnoreCase("name")) {
                                    name = p.getValue();
                                } else if (p.getName().equalsIgnoreCase("filename")) {
                                    filename = p.getValue();
                                }
                            }
                        }
                    }
                    case T_BODY -> {
                        if (name == null) {
                            continue;
                        }
                        if (filename != null) {
                            handler.file(name, filename, stream.getDecodedInputStream());
                        } else {
                            byte[] b = stream.getDecodedInputStream().readNBytes(MAX_FIELD_BYTES + 1);
                            if (b.length > MAX_FIELD_BYTES) {
                                throw ApiException.invalid(name, "The form field '" + name + "' is too long.");
                            }
                            handler.field(name, new String(b, StandardCharsets.UTF_8));
                        }
                    }
                    default -> {
                        // structure only
                    }
                }
            }
        } catch (MimeException e) {
            throw new ApiException(400, "The multipart/form-data body is malformed: " + e.getMessage(), null,
                    "invalid_multipart");
        }
    }
}
