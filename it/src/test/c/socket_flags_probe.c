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
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
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

static int int_option(int fd, int level, int name) {
    int value = -1;
    socklen_t length = sizeof value;
    return getsockopt(fd, level, name, &value, &length) == 0 ? value : -1;
}

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
        close(fd);
    }
    closedir(directory);
    return 0;
}
