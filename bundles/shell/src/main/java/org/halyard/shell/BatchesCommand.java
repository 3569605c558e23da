package org.halyard.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.halyard.serving.api.batch.BatchInfo;
import org.halyard.serving.api.batch.BatchService;

/** {@code halyard:batches}: the batch jobs, newest first, with their progress. */
@Command(scope = "halyard", name = "batches", description = "Lists batch jobs (/v1/batches): status and lines answered")
@Service
public class BatchesCommand extends HalyardCommandSupport {

    @Option(name = "-n", aliases = "--limit", description = "Most batches listed (newest first)")
    int limit = 50;

    @Option(name = "-a", aliases = "--active", description = "Only batches that have not ended")
    boolean active;

    @Override
    public Object execute() {
        List<Found<BatchService>> services = services(BatchService.class, null);
        if (services.isEmpty()) {
            System.out.println("The batch mode is not running (feature halyard-batch).");
            return null;
        }
        ShellTable t = new ShellTable().emptyTableText("no batches");
        t.column("Batch");
        t.column("Tenant");
        t.column("Endpoint");
        t.column("Status");
        t.column("Total").alignRight();
        t.column("Completed").alignRight();
        t.column("Failed").alignRight();
        t.column("Running").alignRight();
        t.column("Created");
        t.column("Expires");
        for (Found<BatchService> s : services) {
            for (BatchInfo b : s.service().list(limit)) {
                if (active && b.ended()) {
                    continue;
                }
                t.addRow().addContent(b.id(), b.tenant(), b.endpoint(), b.status(), b.total(), b.completed(), b.failed(),
                        b.inFlight(), b.createdAt(), b.expiresAt());
            }
        }
        t.print(System.out, !noFormat);
        return null;
    }

    public void setLimit(int limit) {
        this.limit = limit;
    }

    public void setActive(boolean active) {
        this.active = active;
    }
}
