package io.tcphardening.agent.live;

import io.tcphardening.agent.settings.SettingsLoader;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The attach command's report id travels ahead of the settings and never reaches {@link SettingsLoader}. */
class AttachReportTest {

    @Test
    void theIdIsSplitFromTheSettings() {
        assertEquals("keepalive.idle=30s,user_timeout=1m",
                AttachReport.of("attach.report=5f3a,keepalive.idle=30s,user_timeout=1m").settingsArgs());
        assertEquals("", AttachReport.of("attach.report=5f3a").settingsArgs());
    }

    @Test
    void argumentsWithoutAnIdAreTheSettingsAsTheyAre() {
        assertEquals("keepalive.idle=30s", AttachReport.of("keepalive.idle=30s").settingsArgs());
        assertEquals(null, AttachReport.of(null).settingsArgs());
    }
}
