package org.halyard.shell;

import java.util.List;
import java.util.NoSuchElementException;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.halyard.serving.api.batch.BatchInfo;
import org.halyard.serving.api.batch.BatchService;

/**
 * {@code halyard:batches-cancel}: cancels a batch as {@code POST /v1/batches/{id}/cancel} does:
 * running lines stop, lines not run are answered with {@code batch_cancelled}, the output so
 * far is kept.
 */
@Command(scope = "halyard", name = "batches-cancel", description = "Cancels a batch job; its output so far is kept")
@Service
public class BatchesCancelCommand extends HalyardCommandSupport {

    @Argument(index = 0, name = "batch", required = true, description = "The batch id (batch_...)")
    String batch;

    @Override
    public Object execute() {
        List<Found<BatchService>> services = services(BatchService.class, null);
        if (services.isEmpty()) {
            System.out.println("The batch mode is not running (feature halyard-batch).");
            return null;
        }
        for (Found<BatchService> s : services) {
            try {
                BatchInfo b = s.service().cancel(batch);
                System.out.println("Batch " + b.id() + " is " + b.status() + " (" + b.completed() + " of " + b.total()
                        + " lines answered before the cancel).");
                return null;
            } catch (NoSuchElementException e) {
                // try the next service
            } catch (IllegalStateException e) {
                System.out.println("Not cancelled: " + e.getMessage() + ".");
                return null;
            }
        }
        System.out.println("No batch " + batch + ".");
        return null;
    }

    public void setBatch(String batch) {
        this.batch = batch;
    }
}
