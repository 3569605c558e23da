package org.halyard.itest.ultralong;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * Shakespeare the demo model never saw, for perplexity past its context: Jon Bosak's XML
 * editions of the plays as the {@code org.exist-db:exist-samples} jar ships them (test scope; the
 * Moby text is public domain, and the files are read in place, never copied). Hamlet and Macbeth
 * are not in tinyshakespeare, the demo model's training text; Romeo and Juliet is, and serves as
 * the seen-text comparison.
 *
 * <p>Each speech becomes {@code SPEAKER:\nline\nline\n} as in tinyshakespeare; stage directions
 * are left out, as tinyshakespeare has none.
 */
final class HeldBackText {

    /** A play in the jar. */
    enum Play {
        HAMLET("hamlet.xml"), MACBETH("macbeth.xml"), ROMEO_AND_JULIET("r_and_j.xml");

        final String file;

        Play(String file) {
            this.file = file;
        }
    }

    private HeldBackText() {
    }

    /** The play's speeches in order, each as {@code SPEAKER:\nlines...}. */
    static List<String> speeches(Play play) {
        String path = "/org/exist/samples/shakespeare/" + play.file;
        try (InputStream in = HeldBackText.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException(path + " is not on the class path (org.exist-db:exist-samples)");
            }
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setExpandEntityReferences(false);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            Document doc = f.newDocumentBuilder().parse(in);
            NodeList list = doc.getElementsByTagName("SPEECH");
            List<String> out = new ArrayList<>();
            for (int i = 0; i < list.getLength(); i++) {
                Element speech = (Element) list.item(i);
                StringBuilder sb = new StringBuilder();
                NodeList speakers = speech.getElementsByTagName("SPEAKER");
                sb.append(speakers.getLength() == 0 ? "ALL" : speakers.item(0).getTextContent().trim()).append(":\n");
                NodeList lines = speech.getElementsByTagName("LINE");
                int n = 0;
                for (int j = 0; j < lines.getLength(); j++) {
                    String line = ownText(lines.item(j)).trim();
                    if (!line.isEmpty()) {
                        sb.append(line).append('\n');
                        n++;
                    }
                }
                if (n > 0) {
                    out.add(sb.toString());
                }
            }
            return out;
        } catch (Exception e) {
            throw new IllegalStateException("cannot read " + path + ": " + e, e);
        }
    }

    /** The text of a node without its child elements (a LINE without its inline STAGEDIR). */
    private static String ownText(Node n) {
        StringBuilder sb = new StringBuilder();
        for (Node c = n.getFirstChild(); c != null; c = c.getNextSibling()) {
            if (c.getNodeType() == Node.TEXT_NODE) {
                sb.append(c.getNodeValue());
            }
        }
        return sb.toString().replaceAll("\\s+", " ");
    }
}
