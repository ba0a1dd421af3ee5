/*
 * socket_flags_probe PID: prints, for every socket descriptor of process PID that is not a TCP socket, its family,
 * type and SO_KEEPALIVE flag, as the kernel has them.
 *
 * TCP sockets are sockopt_probe's; this one watches the others (Unix-domain, UDP, ...), which the agent must never
 * write to: SO_KEEPALIVE is a generic socket flag that the kernel accepts on any of them, so an option meant for a
 * TCP socket whose descriptor number was closed and reused by such a socket would show here as keepalive=1. Like
 * sockopt_probe it shares no code with the JVM or the agent: pidfd_open + pidfd_getfd (Linux 5.6+), getsockopt on the
 * duplicate. One line per socket:
 *   fd=N family=unix|inet|inet6|F type=stream|dgram|seqpacket|T protocol=P keepalive=0|1
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include "process_sockets.h"

static void print_family(int family) {
    switch (family) {
        case AF_UNIX: printf("unix"); break;
        case AF_INET: printf("inet"); break;
        case AF_INET6: printf("inet6"); break;
        default: printf("%d", family);
    }
}

static void print_type(int type) {
    switch (type) {
        case SOCK_STREAM: printf("stream"); break;
        case SOCK_DGRAM: printf("dgram"); break;
        case SOCK_SEQPACKET: printf("seqpacket"); break;
        default: printf("%d", type);
    }
}

/* Prints the line for one duplicated descriptor unless it is a TCP socket. */
static void probe(int target_fd, int fd) {
    struct sockaddr_storage local;
    socklen_t local_length = sizeof local;
    memset(&local, 0, sizeof local);
    int family = getsockname(fd, (struct sockaddr *) &local, &local_length) == 0 ? local.ss_family : -1;
    int type = int_option(fd, SOL_SOCKET, SO_TYPE);
    int protocol = int_option(fd, SOL_SOCKET, SO_PROTOCOL);
    int tcp = (family == AF_INET || family == AF_INET6) && type == SOCK_STREAM && protocol == IPPROTO_TCP;
    if (!tcp) {
        printf("fd=%d family=", target_fd);
        print_family(family);
        printf(" type=");
        print_type(type);
        printf(" protocol=%d keepalive=%d\n", protocol, int_option(fd, SOL_SOCKET, SO_KEEPALIVE));
    }
}

int main(int argc, char **argv) {
    return probe_process(argc, argv, probe);
}
