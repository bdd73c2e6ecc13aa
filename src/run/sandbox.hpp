// The private namespaces and the per-run tmpfs that driverfs-run sets up and removes.
#pragma once

#include <string>

#include "core/error.hpp"

namespace driverfs::run {

// An error value for the failed system call `what`, from errno.
Error sys_error(const std::string& what);

// Namespace A (private mounts and network; a user namespace without root).
Status enter_namespaces();

// A fresh network namespace has lo down; programs under test may want it.
Status loopback_up();

// Everything of one run under one tmpfs: unmounting it removes it all.
struct State {
    std::string dir;       // the tmpfs
    bool mounted = false;  // tmpfs on dir
    std::string sys() const { return dir + "/sys"; }
    std::string udev() const { return dir + "/udev"; }
    std::string socket() const { return dir + "/control.sock"; }
    std::string log() const { return dir + "/driverfsd.log"; }
};

// Mounts the tmpfs and makes its directories (and /run/udev, COMMAND's mount point).
Status make_state(State& st);

// Unmounts and removes what make_state made, saying on stderr what it could not.
void remove_state(State& st);

}  // namespace driverfs::run
