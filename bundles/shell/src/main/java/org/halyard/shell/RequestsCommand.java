package org.halyard.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.halyard.serving.api.RequestStatus;
import org.halyard.serving.api.Scheduler;

/** {@code halyard:requests}: the requests the scheduler holds, running first, then queued. */
@Command(scope = "halyard", name = "requests", description = "Lists the requests running and queued in the scheduler")
@Service
public class RequestsCommand extends HalyardCommandSupport {

    @Override
    public Object execute() {
        List<Found<Scheduler>> schedulers = services(Scheduler.class, null);
        if (schedulers.isEmpty()) {
            System.out.println("No scheduler is running.");
            return null;
        }
        ShellTable t = new ShellTable().emptyTableText("no requests running or queued");
        t.column("Request");
        t.column("Model");
        t.column("Mode");
        t.column("Class");
        t.column("State");
        t.column("Prompt").alignRight();
        t.column("Computed").alignRight();
        t.column("Output").alignRight();
        t.column("Age ms").alignRight();
        for (Found<Scheduler> s : schedulers) {
            for (RequestStatus r : s.service().requests()) {
                t.addRow().addContent(r.requestId(), r.model(), r.mode(), r.priority().name().toLowerCase(),
                        r.state().name().toLowerCase(), r.promptTokens(), r.computedTokens(), r.outputTokens(),
                        r.age().toMillis());
            }
        }
        t.print(System.out, !noFormat);
        return null;
    }
}
