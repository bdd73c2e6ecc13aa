// Errors as values: an errno a caller can act on plus a message a person can read.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace driverfs {

struct Error {
    int code = 0;         // positive errno
    std::string message;  // what failed and, where possible, what to do about it

    static Error of(int code, std::string message) { return Error{code, std::move(message)}; }
};

// A value or an Error. Small on purpose: C++20 has no std::expected.
template <class T>
class Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& value() const& { return std::get<0>(v_); }
    T* operator->() { return &value(); }
    T& operator*() { return value(); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class Result<void> {
public:
    Result() = default;
    Result(Error error) : err_(std::move(error)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return err_; }

private:
    Error err_;
    bool failed_ = false;
};

using Status = Result<void>;

}  // namespace driverfs
