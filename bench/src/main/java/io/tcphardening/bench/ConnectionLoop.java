package io.tcphardening.bench;

/**
 * {@link ConnectionBench}'s connections in a plain loop, for comparisons finer than JMH's forks resolve here
 * (they vary by ±10 % on this machine): {@code warmUp} rounds, then {@code rounds} rounds of {@code connections}
 * connections each; prints {@code best US cpu US}: microseconds per connection in the fastest round, and CPU
 * microseconds per connection (every thread of the process, the kernel's work on their behalf included) in the round
 * that took the least. The fastest round is the one the machine disturbed least; on two shared cores a round's wall
 * time moves by more than the few percent compared, and when other work shares the cores, CPU time is what is left of
 * a connection's cost. A Netty transport that cannot start here prints {@code unavailable REASON} instead.
 *
 * <pre>ConnectionLoop socket|socketChannel|asyncChannel|nettyEpoll|nettyIoUring plain|byHand connections warmUp rounds</pre>
 */
public final class ConnectionLoop {

    private ConnectionLoop() {
    }

    public static void main(String[] args) throws Exception {
        String method = args[0];
        boolean byHand = args[1].equals("byHand");
        if (!byHand && !args[1].equals("plain")) {
            throw new IllegalArgumentException("plain or byHand, not " + args[1]);
        }
        int connections = Integer.parseInt(args[2]);
        int warmUp = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        String unavailable = ConnectionBench.unavailable(method);
        if (unavailable != null) {
            System.out.println("unavailable " + unavailable);
            return;
        }
        ConnectionBench bench = new ConnectionBench(method, byHand);
        bench.setUp();
        double best = Double.MAX_VALUE;
        double bestCpu = Double.MAX_VALUE;
        try {
            for (int round = 0; round < warmUp + rounds; round++) {
                long cpu = CpuTime.nanos();
                long start = System.nanoTime();
                for (int i = 0; i < connections; i++) {
                    bench.connection();
                }
                double micros = (System.nanoTime() - start) / 1e3 / connections;
                double cpuMicros = (CpuTime.nanos() - cpu) / 1e3 / connections;
                if (round >= warmUp) {
                    best = Math.min(best, micros);
                    bestCpu = Math.min(bestCpu, cpuMicros);
                }
            }
        } finally {
            bench.tearDown();
        }
        System.out.printf("best %.3f cpu %.3f%n", best, bestCpu);
    }
}
