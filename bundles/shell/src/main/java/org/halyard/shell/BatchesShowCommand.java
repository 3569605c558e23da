package org.halyard.shell;

import java.util.List;
import java.util.Optional;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.halyard.serving.api.batch.BatchInfo;
import org.halyard.serving.api.batch.BatchService;

/** {@code halyard:batches-show}: one batch in full, with its files and validation errors. */
@Command(scope = "halyard", name = "batches-show", description = "Shows one batch job: status, counts, files, errors")
@Service
public class BatchesShowCommand extends HalyardCommandSupport {

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
            Optional<BatchInfo> found = s.service().get(batch);
            if (found.isPresent()) {
                print(found.get());
                return null;
            }
        }
        System.out.println("No batch " + batch + ".");
        return null;
    }

    private void print(BatchInfo b) {
        ShellTable t = new ShellTable();
        t.column("Field");
        t.column("Value");
        t.addRow().addContent("id", b.id());
        t.addRow().addContent("tenant", b.tenant());
        t.addRow().addContent("endpoint", b.endpoint());
        t.addRow().addContent("status", b.status());
        t.addRow().addContent("lines", b.total());
        t.addRow().addContent("completed", b.completed());
        t.addRow().addContent("failed", b.failed());
        t.addRow().addContent("running", b.inFlight());
        t.addRow().addContent("input file", b.inputFileId());
        t.addRow().addContent("output file", b.outputFileId() == null ? "" : b.outputFileId());
        t.addRow().addContent("error file", b.errorFileId() == null ? "" : b.errorFileId());
        t.addRow().addContent("created", b.createdAt());
        t.addRow().addContent("expires", b.expiresAt());
        t.addRow().addContent("ended", b.endedAt() == null ? "" : b.endedAt());
        for (int i = 0; i < b.errors().size(); i++) {
            t.addRow().addContent(i == 0 ? "errors" : "", b.errors().get(i));
        }
        t.print(System.out, !noFormat);
    }

    public void setBatch(String batch) {
        this.batch = batch;
    }
}
