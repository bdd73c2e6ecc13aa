// Going to the background only once the mount is up, so `driverfsd M && ls M` works.
#include "daemonize.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace driverfs::daemon {

namespace {
// The write end of the pipe the waiting parent reads; -1 once reported.
int ready_fd = -1;
}  // namespace

void daemonize() {
    int p[2];
    if (pipe(p) != 0) {
        std::perror("driverfsd: pipe");
        std::exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        std::perror("driverfsd: fork");
        std::exit(1);
    }
    if (pid > 0) {
        close(p[1]);
        char status = 1;
        if (read(p[0], &status, 1) != 1) {
            int ws;
            waitpid(pid, &ws, 0);  // the child died before mounting; it said why on stderr
        }
        std::_Exit(status);
    }
    close(p[0]);
    ready_fd = p[1];
    setsid();
}

void report_ready(char status) {
    if (ready_fd < 0) return;
    if (status == 0) {
        // Detach from the terminal only once the parent knows we are up. A
        // stderr that is a regular file stays: with no syslog socket it is
        // where the log goes (and a pipe must close, or a reader of our
        // output would wait for the daemon's end).
        struct stat err_st;
        const bool keep_stderr = fstat(2, &err_st) == 0 && S_ISREG(err_st.st_mode);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            if (!keep_stderr) dup2(null, 2);
            if (null > 2) close(null);
        }
        (void)!chdir("/");
    }
    (void)!write(ready_fd, &status, 1);
    close(ready_fd);
    ready_fd = -1;
}

}  // namespace driverfs::daemon
