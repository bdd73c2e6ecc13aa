// Core attributes: files whose show/store are daemon code (control/, module/, bus files).
// Private to the core.
#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <vector>
#include <string>
#include <string_view>

#include "core/node.hpp"

namespace driverfs {

class CoreAttr final : public AttrOps {
public:
    using ShowFn = std::function<Result<std::string>()>;
    using StoreFn = std::function<Status(std::string_view)>;

    // `show` and `store`: callables (lambdas, ShowFn, StoreFn), or nullptr
    // for a write-only or read-only file. Kept as given, not as
    // std::function: with two std::function members (whose lambdas of a
    // pointer and a weak_ptr go to the heap) a device's three core files
    // cost about 400 bytes; held in the object, up to kInline bytes of
    // captures for both, they cost 80 bytes each.
    template <class Show, class Store>
    CoreAttr(Show show, Store store) {
        using Held = FnsOf<Show, Store>;
        if constexpr (sizeof(Held) <= kInline && alignof(Held) <= kInlineAlign)
            fns_ = new (inline_) Held(std::move(show), std::move(store));
        else
            fns_ = new Held(std::move(show), std::move(store));
    }
    CoreAttr(const CoreAttr&) = delete;
    CoreAttr& operator=(const CoreAttr&) = delete;
    ~CoreAttr() override;

    Result<size_t> show(char* page) override;
    Result<size_t> store(std::string_view data) override;

private:
    struct Fns {
        virtual ~Fns() = default;
        virtual Result<std::string> show() = 0;
        virtual Status store(std::string_view data) = 0;
    };

    // Absent: nullptr, or an empty std::function.
    template <class F>
    static bool present(const F& f) {
        if constexpr (std::is_null_pointer_v<F>) return false;
        else if constexpr (std::is_constructible_v<bool, const F&>) return static_cast<bool>(f);
        else return true;
    }

    template <class Show, class Store>
    struct FnsOf final : Fns {
        FnsOf(Show s, Store w) : show_fn(std::move(s)), store_fn(std::move(w)) {}
        Result<std::string> show() override {
            if constexpr (std::is_null_pointer_v<Show>) {
                return Error::of(EACCES, "write-only attribute");
            } else {
                if (!present(show_fn)) return Error::of(EACCES, "write-only attribute");
                Result<std::string> text = show_fn();
                return text;
            }
        }
        Status store(std::string_view data) override {
            if constexpr (std::is_null_pointer_v<Store>) {
                return Error::of(EACCES, "read-only attribute");
            } else {
                if (!present(store_fn)) return Error::of(EACCES, "read-only attribute");
                Status done = store_fn(data);
                return done;
            }
        }
        [[no_unique_address]] Show show_fn;
        [[no_unique_address]] Store store_fn;
    };

    // Room for the vtable pointer of FnsOf and two captures of a pointer and
    // a weak_ptr each (the files of every device); larger captures go to the heap.
    static constexpr size_t kInline = 56;
    static constexpr size_t kInlineAlign = alignof(void*);
    Fns* fns_;  // in inline_, or on the heap when it did not fit
    alignas(kInlineAlign) std::byte inline_[kInline];
};

// The text a sysfs store() usually wants: without one trailing newline.
std::string_view chomp(std::string_view s);

// Helpers for parsing what is written to core attributes.
std::vector<std::string> split_words(std::string_view s);

// Store callbacks return only an errno to the writer; keep the message for
// the person reading the log.
Status logged(Status s, std::string_view what);

}  // namespace driverfs
