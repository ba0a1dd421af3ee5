/*
 * What both probes share: every socket descriptor of another process, duplicated into this one with pidfd_open +
 * pidfd_getfd (Linux 5.6+; needs ptrace rights over the target, e.g. root), so that getsockopt reads the kernel's
 * values without any code of the JVM or the agent.
 */
#ifndef PROCESS_SOCKETS_H
#define PROCESS_SOCKETS_H

#include <dirent.h>
#include <errno.h>
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

/*
 * Calls each(target_fd, fd) for every socket descriptor target_fd of process pid, fd being this process's duplicate
 * (closed after the call). A descriptor closed since it was listed is skipped. Returns 0, or 1 after printing why.
 */
static int for_each_socket(int pid, void (*each)(int target_fd, int fd)) {
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
            closedir(directory);
            return 1;
        }
        each(target_fd, fd);
        close(fd);
    }
    closedir(directory);
    return 0;
}

/* The probes' command line: PID. */
static int probe_process(int argc, char **argv, void (*each)(int target_fd, int fd)) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PID\n", argv[0]);
        return 2;
    }
    return for_each_socket(atoi(argv[1]), each);
}

#endif
