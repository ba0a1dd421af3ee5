package io.tcphardening.agent.observe;

import io.tcphardening.agent.settings.Settings;

/**
 * What observers of the running agent read from it: the settings in force (an attach may replace them at any moment)
 * and what it has counted. The hardener provides it; the MBean and the agent properties read it, so that observation
 * needs nothing of the hardening package.
 */
public interface AgentState {

    Settings settings();

    Counters counters();
}
