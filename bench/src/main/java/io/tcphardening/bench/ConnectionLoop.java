package io.tcphardening.bench;

/**
 * {@link ConnectionBench}'s connections ({@code plain}: the program sets nothing) in a plain loop, for comparisons
 * finer than JMH's forks resolve here: {@code warmUp} rounds, then {@code rounds} rounds of {@code connections}
 * connections each; prints {@code best US cpu US}: microseconds per connection in the fastest round, and CPU
 * microseconds per connection (every thread of the process, the kernel's work on their behalf included) in the round
 * that took the least. The fastest round is the one the machine disturbed least; on two shared cores a round's wall
 * time moves by more than the few percent compared, and when other work shares the cores, CPU time is what is left of
 * a connection's cost.
 *
 * <pre>ConnectionLoop socket|socketChannel|nettyEpoll connections warmUp rounds</pre>
 */
public final class ConnectionLoop {

    private ConnectionLoop() {
    }

    public static void main(String[] args) throws Exception {
        String method = args[0];
        int connections = Integer.parseInt(args[1]);
        int warmUp = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        ConnectionBench bench = new ConnectionBench();
        bench.mode = "plain";
        bench.setUp();
        double best = Double.MAX_VALUE;
        double bestCpu = Double.MAX_VALUE;
        try {
            for (int round = 0; round < warmUp + rounds; round++) {
                long cpu = CpuTime.nanos();
                long start = System.nanoTime();
                for (int i = 0; i < connections; i++) {
                    switch (method) {
                        case "socket":
                            bench.socket();
                            break;
                        case "socketChannel":
                            bench.socketChannel();
                            break;
                        case "nettyEpoll":
                            bench.nettyEpoll();
                            break;
                        default:
                            throw new IllegalArgumentException("no such connection: " + method);
                    }
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
