package io.tcphardening.bench;

/**
 * {@link OneConnection}, then {@code cpu NANOS}: the CPU time its process has used, every thread together
 * ({@link CpuTime#nanos}). On a machine whose cores other work shares, a start's wall time moves by tens of
 * milliseconds from one run to the next, its CPU time by much less; a difference of a few milliseconds of work
 * shows in the second long before it does in the first.
 */
public final class OneConnectionCpu {

    private OneConnectionCpu() {
    }

    public static void main(String[] args) throws Exception {
        OneConnection.main(args);
        System.out.println("cpu " + CpuTime.nanos());
    }
}
