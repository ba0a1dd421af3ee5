/*
 * inherit_socket KIND -- COMMAND...: runs COMMAND with a socket as its standard input, as inetd and systemd socket
 * activation hand one to a service, so that the JVM's System.inheritedChannel() returns it. KIND:
 *   tcp           a connected TCP socket on 127.0.0.1 (the accepted end; this process holds the connecting end)
 *   tcp-listener  a listening TCP socket on 127.0.0.1 (inetd's "wait" services)
 *   udp           a UDP socket bound to 127.0.0.1
 *   unix          one end of a connected Unix-domain stream socket pair
 * Standard output and error stay as they are. Exits with COMMAND's status.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what) {
    perror(what);
    return 3;
}

static int bound_loopback(int type, struct sockaddr_in *address) {
    int fd = socket(AF_INET, type, 0);
    socklen_t length = sizeof *address;
    memset(address, 0, sizeof *address);
    address->sin_family = AF_INET;
    address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *) address, sizeof *address) != 0
        || getsockname(fd, (struct sockaddr *) address, &length) != 0) {
        return -1;
    }
    return fd;
}

int main(int argc, char **argv) {
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: %s tcp|tcp-listener|udp|unix -- COMMAND...\n", argv[0]);
        return 2;
    }
    const char *kind = argv[1];
    int handed = -1, kept = -1;
    struct sockaddr_in address;
    if (strcmp(kind, "tcp") == 0 || strcmp(kind, "tcp-listener") == 0) {
        int listener = bound_loopback(SOCK_STREAM, &address);
        if (listener < 0 || listen(listener, 1) != 0) {
            return fail("listener");
        }
        if (strcmp(kind, "tcp-listener") == 0) {
            handed = listener;
        } else {
            kept = socket(AF_INET, SOCK_STREAM, 0);
            if (kept < 0 || connect(kept, (struct sockaddr *) &address, sizeof address) != 0
                || (handed = accept(listener, NULL, NULL)) < 0) {
                return fail("connection");
            }
            close(listener);
        }
    } else if (strcmp(kind, "udp") == 0) {
        if ((handed = bound_loopback(SOCK_DGRAM, &address)) < 0) {
            return fail("udp");
        }
    } else if (strcmp(kind, "unix") == 0) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
            return fail("socketpair");
        }
        handed = pair[0];
        kept = pair[1];
    } else {
        fprintf(stderr, "unknown kind %s\n", kind);
        return 2;
    }
    pid_t child = fork();
    if (child < 0) {
        return fail("fork");
    }
    if (child == 0) {
        if (dup2(handed, 0) < 0) {
            return fail("dup2");
        }
        close(handed);
        if (kept >= 0) {
            close(kept);
        }
        execvp(argv[3], argv + 3);
        return fail("exec");
    }
    close(handed);
    int status;
    if (waitpid(child, &status, 0) < 0) {
        return fail("waitpid");
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
