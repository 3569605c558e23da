package org.halyard.retrieval.api;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Retrieval as the serving layer uses it: queries the allow-listed sources, merges their passages,
 * and drops or redacts passages the safety pipeline's retrieval stage rejects.
 */
@ProviderType
public interface RetrievalService {

    /**
     * @param sources the sources the request asks for; empty for every source allowed to it
     * @return passages allowed through, best first
     * @throws RetrievalException when a named source is not allowed or not available
     */
    List<Passage> retrieve(RetrievalQuery query, List<String> sources) throws RetrievalException;
}
