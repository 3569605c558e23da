package org.halyard.mode.batch;

import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.ws.rs.Consumes;
import javax.ws.rs.DELETE;
import javax.ws.rs.GET;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.Produces;
import javax.ws.rs.QueryParam;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Response;
import javax.ws.rs.core.StreamingOutput;
import org.halyard.rest.api.ApiAccess;
import org.halyard.rest.api.ApiException;
import org.halyard.rest.api.Caller;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;

/**
 * OpenAI's Files API for batch input: {@code POST /v1/files} (multipart, {@code purpose=batch}),
 * {@code GET /v1/files}, {@code GET /v1/files/{id}}, {@code GET /v1/files/{id}/content},
 * {@code DELETE /v1/files/{id}}. Callers see their own files (admins every file). An upload is
 * listed only once its bytes are on disk.
 */
@Component(service = FilesResource.class)
@JaxrsResource
@JSONRequired
@Path("v1/files")
@Produces(MediaType.APPLICATION_JSON)
public class FilesResource {

    private final ApiAccess access;
    private final BatchJobs mode;

    @Activate
    public FilesResource(@Reference ApiAccess access, @Reference BatchJobs mode) {
        this.access = access;
        this.mode = mode;
    }

    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public Map<String, Object> upload(InputStream body, @Context HttpHeaders headers) throws Exception {
        Caller caller = access.authenticate(headers, Caller.USER);
        String length = headers.getHeaderString(HttpHeaders.CONTENT_LENGTH);
        long max = mode.config().maxFileSizeBytes();
        if (length != null && length.matches("\\d{1,18}") && Long.parseLong(length) > max + 64 * 1024) {
            throw new ApiException(413, "The upload is larger than " + max + " bytes, the limit of this server "
                    + "(maxFileSizeBytes in etc/org.halyard.mode.batch.cfg); split the file.", "file", "file_too_large");
        }
        String[] purpose = {null};
        FileRecord[] stored = {null};
        try {
            Multipart.parse(body, headers.getHeaderString(HttpHeaders.CONTENT_TYPE), new Multipart.Handler() {
                @Override
                public void field(String name, String value) {
                    if (name.equals("purpose")) {
                        purpose[0] = value.trim();
                    }
                }

                @Override
                public void file(String name, String filename, InputStream content) throws Exception {
                    if (!name.equals("file")) {
                        return;
                    }
                    if (stored[0] != null) {
                        throw ApiException.invalid("file", "Send one file per upload.");
                    }
                    String fn = filename.isBlank() ? "upload.jsonl" : filename.replaceAll("[\\r\\n\\\\/]", "_");
                    stored[0] = mode.upload(caller.tenant(), fn.length() > 256 ? fn.substring(0, 256) : fn, content);
                }
            });
            if (purpose[0] == null) {
                throw ApiException.invalid("purpose", "The form field 'purpose' is required; send purpose=batch.");
            }
            if (!purpose[0].equals(FileRecord.PURPOSE_BATCH)) {
                throw ApiException.invalid("purpose", "This server stores files for batches only: purpose must be "
                        + "'batch', not '" + purpose[0] + "'.");
            }
            if (stored[0] == null) {
                throw ApiException.invalid("file", "The form field 'file' (the JSONL file) is required.");
            }
            return Shapes.file(stored[0], mode);
        } catch (Exception e) {
            if (stored[0] != null) {
                mode.deleteFile(caller, stored[0].id());
            }
            throw e;
        }
    }

    @GET
    public Map<String, Object> list(@QueryParam("purpose") String purpose, @QueryParam("limit") Integer limit,
            @QueryParam("after") String after, @QueryParam("order") String order, @Context HttpHeaders headers)
            throws Exception {
        Caller caller = access.authenticate(headers, Caller.USER);
        int n = limit == null ? 10_000 : limit;
        if (n < 1 || n > 10_000) {
            throw ApiException.invalid("limit", "limit must be from 1 to 10000.");
        }
        if (order != null && !order.equals("asc") && !order.equals("desc")) {
            throw ApiException.invalid("order", "order must be asc or desc.");
        }
        List<FileRecord> files = mode.files(caller, purpose == null || purpose.isBlank() ? null : purpose, after, n + 1,
                "asc".equals(order));
        List<Map<String, Object>> data = new ArrayList<>();
        for (int i = 0; i < Math.min(n, files.size()); i++) {
            data.add(Shapes.file(files.get(i), mode));
        }
        return Shapes.list(data, files.size() > n);
    }

    @GET
    @Path("{id}")
    public Map<String, Object> retrieve(@PathParam("id") String id, @Context HttpHeaders headers) throws Exception {
        Caller caller = access.authenticate(headers, Caller.USER);
        return Shapes.file(mode.file(caller, id), mode);
    }

    @GET
    @Path("{id}/content")
    @Produces(MediaType.WILDCARD) // the OpenAI clients send Accept: application/binary
    public Response content(@PathParam("id") String id, @Context HttpHeaders headers) throws Exception {
        Caller caller = access.authenticate(headers, Caller.USER);
        FileRecord f = mode.file(caller, id);
        java.nio.file.Path p = mode.content(f);
        if (!Files.exists(p)) {
            throw new ApiException(404, "The content of file '" + id + "' is gone from the data directory.", "file_id",
                    "file_not_found");
        }
        StreamingOutput out = os -> Files.copy(p, os);
        return Response.ok(out, MediaType.APPLICATION_OCTET_STREAM_TYPE).header(HttpHeaders.CONTENT_LENGTH, Files.size(p))
                .header("Content-Disposition", "attachment; filename=\"" + f.filename().replace("\"", "") + "\"")
                .build();
    }

    @DELETE
    @Path("{id}")
    public Map<String, Object> delete(@PathParam("id") String id, @Context HttpHeaders headers) throws Exception {
        Caller caller = access.authenticate(headers, Caller.USER);
        mode.deleteFile(caller, id);
        return Map.of("id", id, "object", "file", "deleted", true);
    }
}
