/*
 * mptcp_preload.so, for LD_PRELOAD: every TCP socket the process creates through libc's socket() becomes a
 * Multipath TCP socket (IPPROTO_MPTCP), as Linux's own mptcpize tool does. The JDK's socket code cannot tell, and
 * the kernel then decides which TCP options such a socket accepts: that is how the tests meet a kernel that refuses
 * one of the agent's options.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

int socket(int domain, int type, int protocol) {
    static int (*real_socket)(int, int, int);
    if (real_socket == NULL) {
        real_socket = (int (*)(int, int, int)) dlsym(RTLD_NEXT, "socket");
    }
    if ((domain == AF_INET || domain == AF_INET6) && (type & 0xf) == SOCK_STREAM
        && (protocol == 0 || protocol == IPPROTO_TCP)) {
        protocol = IPPROTO_MPTCP;
    }
    return real_socket(domain, type, protocol);
}
