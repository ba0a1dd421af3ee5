/*
 * sockopt_probe PID: prints the TCP options the kernel holds for every TCP socket of process PID.
 *
 * It shares no code with the JVM or the agent: it duplicates each socket descriptor of the target into this process
 * with pidfd_open + pidfd_getfd (Linux 5.6+, needs ptrace rights over the target, e.g. root) and calls getsockopt on
 * the duplicate. One line per TCP socket:
 *   fd=N family=inet|inet6 protocol=tcp|mptcp state=S local=ADDR:PORT remote=ADDR:PORT|- keepalive=0|1 keepidle=S
 *   keepintvl=S keepcnt=N user_timeout=MS   (an option getsockopt refuses reads as -1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
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

static int int_option(int fd, int level, int name) {
    int value = -1;
    socklen_t length = sizeof value;
    return getsockopt(fd, level, name, &value, &length) == 0 ? value : -1;
}

/* Prints the line for one duplicated descriptor if it is a TCP (or Multipath TCP) socket; returns 1 if printed. */
static int probe(int target_fd, int fd) {
    int protocol = int_option(fd, SOL_SOCKET, SO_PROTOCOL);
    if (int_option(fd, SOL_SOCKET, SO_TYPE) != SOCK_STREAM || (protocol != IPPROTO_TCP && protocol != IPPROTO_MPTCP)) {
        return 0;
    }
    struct sockaddr_storage local, remote;
    socklen_t local_length = sizeof local, remote_length = sizeof remote;
    memset(&local, 0, sizeof local);
    if (getsockname(fd, (struct sockaddr *) &local, &local_length) != 0
        || (local.ss_family != AF_INET && local.ss_family != AF_INET6)) {
        return 0;
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
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PID\n", argv[0]);
        return 2;
    }
    int pid = atoi(argv[1]);
    int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        fprintf(stderr, "pidfd_open(%d): %s\n", pid, strerror(errno));
        return 1;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *directory = opendir(path);
    if (directory == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') {
            continue;
        }
        char link_path[320], target[64];
        snprintf(link_path, sizeof link_path, "%s/%s", path, entry->d_name);
        ssize_t length = readlink(link_path, target, sizeof target - 1);
        if (length <= 0) {
            continue;
        }
        target[length] = '\0';
        if (strncmp(target, "socket:[", 8) != 0) {
            continue;
        }
        int target_fd = atoi(entry->d_name);
        int fd = (int) syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
        if (fd < 0) {
            if (errno == EBADF) {
                continue;  /* closed since listed */
            }
            fprintf(stderr, "pidfd_getfd(%d, %d): %s\n", pid, target_fd, strerror(errno));
            return 1;
        }
        probe(target_fd, fd);
        close(fd);
    }
    closedir(directory);
    return 0;
}
