/*
 * sockopt_probe PID: prints the TCP options the kernel holds for every TCP socket of process PID.
 *
 * It shares no code with the JVM or the agent: it duplicates each socket descriptor of the target into this process
 * (process_sockets.h) and calls getsockopt on the duplicate. One line per TCP socket:
 *   fd=N family=inet|inet6 protocol=tcp|mptcp state=S local=ADDR:PORT remote=ADDR:PORT|- keepalive=0|1 keepidle=S
 *   keepintvl=S keepcnt=N user_timeout=MS   (an option getsockopt refuses reads as -1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "process_sockets.h"
#ifndef TCP_USER_TIMEOUT
#define TCP_USER_TIMEOUT 18
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

static const char *state_name(int state) {
    static const char *names[] = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
                                  "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"};
    return state > 0 && state < (int) (sizeof names / sizeof names[0]) ? names[state] : "?";
}

static void format_address(const struct sockaddr_storage *address, char *out, size_t size) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (address->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) address;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(out, size, "%s:%d", host, port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) address;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(out, size, "[%s]:%d", host, port);
    }
}

/* Prints the line for one duplicated descriptor if it is a TCP (or Multipath TCP) socket. */
static void probe(int target_fd, int fd) {
    int protocol = int_option(fd, SOL_SOCKET, SO_PROTOCOL);
    if (int_option(fd, SOL_SOCKET, SO_TYPE) != SOCK_STREAM || (protocol != IPPROTO_TCP && protocol != IPPROTO_MPTCP)) {
        return;
    }
    struct sockaddr_storage local, remote;
    socklen_t local_length = sizeof local, remote_length = sizeof remote;
    memset(&local, 0, sizeof local);
    if (getsockname(fd, (struct sockaddr *) &local, &local_length) != 0
        || (local.ss_family != AF_INET && local.ss_family != AF_INET6)) {
        return;
    }
    char local_text[80], remote_text[80] = "-";
    format_address(&local, local_text, sizeof local_text);
    if (getpeername(fd, (struct sockaddr *) &remote, &remote_length) == 0) {
        format_address(&remote, remote_text, sizeof remote_text);
    }
    struct tcp_info info;
    socklen_t info_length = sizeof info;
    memset(&info, 0, sizeof info);
    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &info_length);
    printf("fd=%d family=%s protocol=%s state=%s local=%s remote=%s keepalive=%d keepidle=%d keepintvl=%d keepcnt=%d "
           "user_timeout=%d\n",
           target_fd, local.ss_family == AF_INET ? "inet" : "inet6", protocol == IPPROTO_TCP ? "tcp" : "mptcp",
           state_name(info.tcpi_state), local_text,
           remote_text, int_option(fd, SOL_SOCKET, SO_KEEPALIVE), int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE),
           int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL), int_option(fd, IPPROTO_TCP, TCP_KEEPCNT),
           int_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT));
}

int main(int argc, char **argv) {
    return probe_process(argc, argv, probe);
}
