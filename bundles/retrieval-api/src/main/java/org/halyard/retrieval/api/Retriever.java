package org.halyard.retrieval.api;

import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * One retrieval source (a Lucene index, a vector store, a document service). Registered as an
 * OSGi service with the property {@link #SOURCE}; only sources on the allow-list of the request's
 * tenant and mode are queried.
 */
@ConsumerType
public interface Retriever {

    /** Service property: the source's name. */
    String SOURCE = "halyard.retrieval.source";

    /** The source's name, as in {@link #SOURCE}. */
    String source();

    /** The best passages for the query, best first, at most {@code query.topK()}. */
    List<Passage> retrieve(RetrievalQuery query) throws RetrievalException;
}
