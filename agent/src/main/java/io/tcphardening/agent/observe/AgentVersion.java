package io.tcphardening.agent.observe;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The agent's version, as the build wrote it: in the start line, the MBean, the agent properties and the commands. */
public final class AgentVersion {

    private AgentVersion() {
        // no instances
    }

    public static String version() {
        try (InputStream in = AgentVersion.class.getResourceAsStream("version.properties")) {
            Properties properties = new Properties();
            if (in != null) {
                properties.load(in);
            }
            return properties.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
