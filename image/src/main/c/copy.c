/*
 * The image's only program: copies files into a directory, for an init container that puts the agent where the
 * application container can mount it. The image has no shell and no libc (FROM scratch), so this is linked
 * statically.
 *
 * usage: copy SOURCE... DIRECTORY
 *
 * Each file is written under a temporary name and renamed into place, so that an application container that starts
 * while a copy runs (a restarted init container, a shared volume) never sees half a jar. Exit status 0 when every
 * file was copied, 1 otherwise, with one line on standard error saying which file and why.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what, const char *path) {
    fprintf(stderr, "copy: %s %s: %s\n", what, path, strerror(errno));
    return 1;
}

static int copy_one(const char *source, const char *directory) {
    char name[4096];
    char temporary[4096 + 16];
    char target[4096 + 16];
    snprintf(name, sizeof name, "%s", source);
    const char *base = basename(name);
    if (snprintf(target, sizeof target, "%s/%s", directory, base) >= (int) sizeof target
            || snprintf(temporary, sizeof temporary, "%s/.%s.partial", directory, base) >= (int) sizeof temporary) {
        errno = ENAMETOOLONG;
        return fail("cannot copy", source);
    }
    int in = open(source, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        return fail("cannot read", source);
    }
    /* readable by any user: the application container may run as another user than this one */
    int out = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return fail("cannot write", temporary);
    }
    fchmod(out, 0644);  /* whatever the umask */
    char buffer[65536];
    long long total = 0;
    for (;;) {
        ssize_t n = read(in, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            close(in);
            close(out);
            unlink(temporary);
            return fail("cannot read", source);
        }
        if (n == 0) {
            break;
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buffer + done, (size_t) (n - done));
            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }
                close(in);
                close(out);
                unlink(temporary);
                return fail("cannot write", temporary);
            }
            done += w;
        }
        total += n;
    }
    close(in);
    if (fsync(out) != 0 || close(out) != 0) {
        unlink(temporary);
        return fail("cannot write", temporary);
    }
    if (rename(temporary, target) != 0) {
        unlink(temporary);
        return fail("cannot rename into place", target);
    }
    printf("copied %s to %s (%lld bytes)\n", source, target, total);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: copy SOURCE... DIRECTORY\n");
        return 2;
    }
    const char *directory = argv[argc - 1];
    struct stat st;
    if (stat(directory, &st) != 0) {
        return fail("no directory", directory);
    }
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return fail("not a directory", directory);
    }
    int status = 0;
    for (int i = 1; i < argc - 1; i++) {
        status |= copy_one(argv[i], directory);
    }
    return status;
}
