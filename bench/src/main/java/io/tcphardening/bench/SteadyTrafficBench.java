package io.tcphardening.bench;

import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** Request and response of 64 bytes over one persistent loopback connection to an echo thread. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class SteadyTrafficBench {

    private ServerSocket server;
    private Socket client;
    private OutputStream out;
    private DataInputStream in;
    private final byte[] request = new byte[64];
    private final byte[] response = new byte[64];

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        server = new ServerSocket(0, 50, loopback);
        Thread echo = new Thread(() -> {
            try (Socket peer = server.accept()) {
                peer.setTcpNoDelay(true);
                InputStream peerIn = peer.getInputStream();
                OutputStream peerOut = peer.getOutputStream();
                byte[] buffer = new byte[64];
                while (true) {
                    new DataInputStream(peerIn).readFully(buffer);
                    peerOut.write(buffer);
                }
            } catch (Exception ended) {
                // the benchmark closed the connection
            }
        });
        echo.setDaemon(true);
        echo.start();
        client = new Socket(loopback, server.getLocalPort());
        client.setTcpNoDelay(true);
        out = client.getOutputStream();
        in = new DataInputStream(client.getInputStream());
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        client.close();
        server.close();
    }

    @Benchmark
    public byte[] roundTrip() throws Exception {
        out.write(request);
        in.readFully(response);
        return response;
    }
}
