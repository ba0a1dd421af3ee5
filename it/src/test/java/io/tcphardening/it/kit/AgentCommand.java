package io.tcphardening.it.kit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The agent jar's commands ({@code java -jar tcp-hardening-agent.jar ...}), run as a separate process on a JDK. */
public final class AgentCommand {

    private AgentCommand() {
    }

    public static ForkedJvm.Result run(Jdks.Jdk jdk, String... args) {
        return ForkedJvm.on(jdk).jvmArg("-jar").jvmArg(AgentJar.path().toString()).args(args)
                .run(Duration.ofSeconds(60));
    }

    /** The other JDK of the machine where there is one, so that a command and its target cross JDKs. */
    public static Jdks.Jdk other(Jdks.Jdk jdk) {
        List<Jdks.Jdk> all = new ArrayList<>(Jdks.all());
        int index = all.indexOf(jdk);
        return all.get((index + 1) % all.size());
    }
}
