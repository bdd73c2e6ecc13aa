// led: a virtual LED driver in the spirit of the Linux LED class
// (Documentation/leds/leds-class.rst, ledtrig-timer.c, ledtrig-heartbeat.c).
//
// A bound device gets an LED class device, as led_classdev_register makes:
// devices/platform/<dev>/leds/<label>/, linked from class/leds/<label>, where
// <label> is the device property label=NAME (the device tree's `label`) or
// the device's name. Its files:
//   brightness      0..max_brightness (rw). A larger value is clamped to
//                   max_brightness, as Linux's LED class does; a value that is
//                   not a decimal unsigned long (negative, not a number) is
//                   EINVAL and one beyond unsigned long ERANGE, both from
//                   kstrtoul in Linux. Writing 0 also drops any trigger, as
//                   Linux does; a nonzero write while blinking sets the
//                   brightness of the "on" phases.
//   max_brightness  from the device property max_brightness=N (1..1000000),
//                   default 255 (ro).
//   trigger         "[none] timer heartbeat"; write a name to select it,
//                   anything else is EINVAL (rw). The device property
//                   trigger=NAME selects one at probe (linux,default-trigger).
//   delay_on, delay_off
//                   timer phases in ms (default 500 each, as Linux; both 0
//                   means 500). As in Linux they exist only while `timer` is
//                   selected: they are a group whose visible_if asks for the
//                   timer trigger, and every trigger change (a write to
//                   trigger, brightness 0) calls update_group, so the host
//                   adds or removes them; an fd held open on one across the
//                   change gets ENODEV. With trigger=timer as a device
//                   property they exist from bind on (the host asks
//                   visible_if after probe).
//
// heartbeat keeps Linux's rhythm at rest: two 70 ms pulses a quarter period
// apart, then a pause, over a 1260 ms period.
//
// Blinking runs on one thread per device, owned by the device's state: it
// toggles brightness and notifies pollers of `brightness`. It is stopped and
// joined when the trigger changes and in remove(), so none runs once the
// device is unbound, and therefore none after exit().
#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "driverfs/plugin.hpp"

namespace {

using namespace driverfs::sdk;

constexpr const char* kTriggers[] = {"none", "timer", "heartbeat"};
enum Trigger { kNone = 0, kTimer = 1, kHeartbeat = 2 };
constexpr unsigned long kDefaultDelay = 500;

extern Group led_group, timer_group;

class Led {
public:
    explicit Led(Device dev) {
        if (const char* p = dev.property("max_brightness")) {
            if (parse_ulong(p, 1, 1000000, &max_) != 0) {
                Host::log(DFS_LOG_ERR, "max_brightness property must be a number from 1 to 1000000");
                throw Errno(EINVAL);
            }
        }
        Trigger initial = kNone;
        if (const char* p = dev.property("trigger")) {
            int t = parse_choice(p, kTriggers);
            if (t < 0) {
                Host::log(DFS_LOG_ERR, std::string("unknown trigger property '") + p + "'");
                throw Errno(EINVAL);
            }
            initial = static_cast<Trigger>(t);
        }
        const char* label = dev.property("label");
        {
            std::lock_guard lock(mu_);
            select_locked(initial);  // what timer_group's visible_if reads while the files are made
        }
        // Its files may be read and written as soon as they exist, before
        // cdev_ holds it: a trigger store until then only records the
        // trigger, and the blink thread (the one reader of cdev_ besides
        // the destructor) starts once cdev_ is set under mu_.
        ClassDevice made(dev, "leds", label ? label : dev.name(),
                         {.groups = {&led_group, &timer_group}, .state = this});
        std::lock_guard lock(mu_);
        cdev_ = std::move(made);
        if (trigger_ != kNone) start_locked();
    }
    ~Led() {
        std::unique_lock lock(mu_);
        stop_locked(lock);
    }

    unsigned long max() const { return max_; }
    unsigned long brightness() const { return brightness_.load(); }

    // Returns true if this dropped the trigger.
    // `cdev` is the class device the store came through: cdev_ itself may
    // still be being assigned by this constructor's thread (its files are
    // live as soon as class_device_create returns).
    bool set_brightness(unsigned long v, Device cdev) {
        std::unique_lock lock(mu_);
        bool dropped = false;
        if (v == 0) {  // Linux: brightness 0 removes the trigger
            stop_locked(lock);
            dropped = std::exchange(trigger_, kNone) != kNone;
        } else if (trigger_ != kNone) {
            blink_brightness_ = v;
            return false;  // the blink thread shows it at the next "on" phase
        }
        brightness_.store(v);
        lock.unlock();
        cdev.notify("brightness");
        return dropped;
    }

    Trigger trigger() {
        std::lock_guard lock(mu_);
        return trigger_;
    }

    // Returns true if the trigger changed.
    bool select(Trigger t) {
        std::unique_lock lock(mu_);
        if (t == trigger_) return false;
        stop_locked(lock);
        select_locked(t);
        return true;
    }

    // delay_on (which=0) / delay_off (which=1). ENODEV unless timer is
    // selected: a call that raced with the trigger change that removes the
    // file answers as the removed file does.
    int delay(int which, unsigned long* out) {
        std::lock_guard lock(mu_);
        if (trigger_ != kTimer) return -ENODEV;
        *out = delay_[which];
        return 0;
    }
    int set_delay(int which, unsigned long v) {
        std::lock_guard lock(mu_);
        if (trigger_ != kTimer) return -ENODEV;
        delay_[which] = v;
        if (delay_[0] == 0 && delay_[1] == 0) delay_[0] = delay_[1] = kDefaultDelay;
        restart_ = true;  // start over with the new phase lengths, as Linux restarts the timer
        wake_.notify_all();
        return 0;
    }

private:
    void select_locked(Trigger t) {
        trigger_ = t;
        if (t == kNone) return;
        if (blink_brightness_ == 0) blink_brightness_ = brightness_.load() ? brightness_.load() : max_;
        if (cdev_) start_locked();  // else the constructor starts it once cdev_ is set
    }

    void start_locked() {
        stop_ = false;
        restart_ = false;
        thread_ = std::thread([this] { run(); });
    }

    // Stop and join the blink thread; mu_ is held on entry and on return.
    void stop_locked(std::unique_lock<std::mutex>& lock) {
        if (!thread_.joinable()) return;
        stop_ = true;
        wake_.notify_all();
        std::thread t = std::move(thread_);
        lock.unlock();
        t.join();
        lock.lock();
    }

    // The blink loop: one phase per iteration, brightness set then slept on.
    void run() {
        std::unique_lock lock(mu_);
        unsigned phase = 0;
        while (!stop_) {
            unsigned long ms;
            bool on;
            if (trigger_ == kTimer) {
                on = phase % 2 == 0;
                ms = delay_[on ? 0 : 1];
                if (ms == 0) {  // a zero phase: the other one lasts forever
                    ++phase;
                    continue;
                }
            } else {  // heartbeat at rest: on 70, off 245, on 70, off 875 (1260 ms)
                static constexpr unsigned long kBeat[] = {70, 245, 70, 875};
                on = phase % 2 == 0;
                ms = kBeat[phase % 4];
            }
            unsigned long want = on ? blink_brightness_ : 0;
            if (brightness_.exchange(want) != want) {
                lock.unlock();
                cdev_.notify("brightness");
                lock.lock();
            }
            wake_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_ || restart_; });
            phase = restart_ ? 0 : phase + 1;
            restart_ = false;
        }
    }

    unsigned long max_ = 255;
    std::atomic<unsigned long> brightness_{0};
    std::mutex mu_;  // everything below
    std::condition_variable wake_;
    Trigger trigger_ = kNone;
    unsigned long blink_brightness_ = 0;
    unsigned long delay_[2] = {kDefaultDelay, kDefaultDelay};
    bool stop_ = false;
    bool restart_ = false;
    std::thread thread_;
    // Set once, under mu_, at the end of the constructor; the blink thread
    // starts only after that (so reads it unlocked) and is stopped before
    // this, the last member, is destroyed first.
    ClassDevice cdev_;
};

// After a trigger change: have the host add or remove the timer's files.
// Called with no lock of Led held, since visible_if takes it.
void update_timer_files(Device d) {
    int rc = timer_group.update(d);
    // ENODEV: the device is being unbound, its files go anyway.
    if (rc != 0 && rc != -ENODEV)
        Host::log(DFS_LOG_WARNING, std::string("delay_on/delay_off of ") + d.name() +
                                       " not updated: error " + std::to_string(-rc));
}

Attribute brightness("brightness", 0644,
    [](Device d, std::string& out) {
        out = std::to_string(d.state<Led>().brightness()) + "\n";
        return 0;
    },
    [](Device d, std::string_view in) {
        Led& led = d.state<Led>();
        unsigned long v;
        // Linux's brightness_store: kstrtoul's errno as it is, then
        // led_set_brightness clamps to max_brightness.
        if (int rc = parse_ulong(in, 0, ULONG_MAX, &v); rc != 0) return rc;
        if (led.set_brightness(std::min(v, led.max()), d)) update_timer_files(d);
        return 0;
    });

Attribute max_brightness("max_brightness", 0444, [](Device d, std::string& out) {
    out = std::to_string(d.state<Led>().max()) + "\n";
    return 0;
});

Attribute trigger("trigger", 0644,
    [](Device d, std::string& out) {
        out = format_choices(kTriggers, d.state<Led>().trigger());
        return 0;
    },
    [](Device d, std::string_view in) {
        int t = parse_choice(in, kTriggers);
        if (t < 0) return t;
        if (d.state<Led>().select(static_cast<Trigger>(t))) update_timer_files(d);
        return 0;
    });

Attribute::ShowFn show_delay(int which) {
    return [which](Device d, std::string& out) {
        unsigned long v;
        if (int rc = d.state<Led>().delay(which, &v); rc < 0) return rc;
        out = std::to_string(v) + "\n";
        return 0;
    };
}
Attribute::StoreFn store_delay(int which) {
    return [which](Device d, std::string_view in) {
        unsigned long v;
        if (parse_ulong(in, 0, 3600000, &v) != 0) return -EINVAL;
        return d.state<Led>().set_delay(which, v);
    };
}
bool timer_selected(Device d) { return d.state<Led>().trigger() == kTimer; }

Attribute delay_on("delay_on", 0644, show_delay(0), store_delay(0));
Attribute delay_off("delay_off", 0644, show_delay(1), store_delay(1));

// The class device's files; the timer trigger's are in its directory too,
// as in Linux.
Group led_group(nullptr, {&brightness, &max_brightness, &trigger});
Group timer_group(nullptr, {&delay_on, &delay_off});

Driver led_driver("led", "platform", [](Driver& d) {
    delay_on.visible_if(timer_selected);
    delay_off.visible_if(timer_selected);
    d.state<Led>();
});

Module led_module("led", "1.0", {&led_driver});

}  // namespace

DRIVERFS_PLUGIN(led_module)
