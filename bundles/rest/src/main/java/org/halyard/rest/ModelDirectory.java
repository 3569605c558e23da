package org.halyard.rest;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.halyard.engine.api.Model;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * The models served now, by name. While a deployment swaps a model, two services of one name
 * exist for a moment: the newest (highest ranking, then highest service id) wins.
 */
@Component(service = ModelDirectory.class)
public class ModelDirectory {

    /** A model service and the properties it was registered with. */
    public record Entry(Model model, String name, long serviceId, int ranking) {
    }

    private static final Comparator<Entry> NEWEST_FIRST = Comparator.comparingInt(Entry::ranking)
            .thenComparingLong(Entry::serviceId).reversed();

    private final List<Entry> entries = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addModel(Model model, Map<String, Object> props) {
        Object name = props.get(Model.NAME);
        entries.add(new Entry(model, name == null ? model.info().name() : name.toString(),
                ((Number) props.get(Constants.SERVICE_ID)).longValue(),
                props.get(Constants.SERVICE_RANKING) instanceof Integer r ? r : 0));
    }

    void removeModel(Model model) {
        entries.removeIf(e -> e.model() == model);
    }

    /** The model served under this name. */
    public Optional<Model> find(String name) {
        return entries.stream().filter(e -> e.name().equals(name)).min(NEWEST_FIRST).map(Entry::model);
    }

    /** The model served under this name, or a 404 naming the models that are served. */
    public Model require(String name) {
        return find(name).orElseThrow(() -> new ApiException(404, "The model '" + name + "' does not exist here; "
                + "served: " + all().stream().map(Entry::name).toList() + " (GET /v1/models).", "model",
                "model_not_found"));
    }

    /** One model per served name, by name. */
    public List<Entry> all() {
        Map<String, Entry> byName = new LinkedHashMap<>();
        entries.stream().sorted(NEWEST_FIRST).forEach(e -> byName.putIfAbsent(e.name(), e));
        List<Entry> list = new ArrayList<>(byName.values());
        list.sort(Comparator.comparing(Entry::name));
        return list;
    }
}
