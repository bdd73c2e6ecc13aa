// led: a virtual LED driver in the spirit of the Linux LED class
// (Documentation/leds/leds-class.rst): brightness 0..max_brightness.
#include <atomic>
#include <new>

#include "driverfs/plugin.hpp"

namespace {

const dfs_host* host;
dfs_plugin* self;

struct Led {
    unsigned long max_brightness;
    std::atomic<unsigned long> brightness{0};
};

Led* led_of(dfs_device* dev) { return static_cast<Led*>(host->get_drvdata(dev)); }

int led_probe(dfs_device* dev) {
    unsigned long max = 255;
    if (const char* p = host->device_property(dev, "max_brightness")) {
        if (driverfs::sdk::parse_uint(p, std::strlen(p), 1, 1000000, &max) != 0) {
            host->log(self, DFS_LOG_ERR, "max_brightness property must be a number from 1 to 1000000");
            return -EINVAL;
        }
    }
    Led* led = new (std::nothrow) Led{max};
    if (!led) return -ENOMEM;
    host->set_drvdata(dev, led);
    return 0;
}

void led_remove(dfs_device* dev) {
    delete led_of(dev);
    host->set_drvdata(dev, nullptr);
}

ssize_t brightness_show(dfs_device* dev, const dfs_attribute*, char* buf, size_t cap) {
    return driverfs::sdk::emit(buf, cap, "%lu\n", led_of(dev)->brightness.load());
}

ssize_t brightness_store(dfs_device* dev, const dfs_attribute*, const char* buf, size_t len) {
    Led* led = led_of(dev);
    unsigned long v;
    if (int rc = driverfs::sdk::parse_uint(buf, len, 0, led->max_brightness, &v); rc != 0) return -EINVAL;
    led->brightness.store(v);
    host->notify(dev, "brightness");
    return static_cast<ssize_t>(len);
}

ssize_t max_brightness_show(dfs_device* dev, const dfs_attribute*, char* buf, size_t cap) {
    return driverfs::sdk::emit(buf, cap, "%lu\n", led_of(dev)->max_brightness);
}

const dfs_attribute brightness = {sizeof(dfs_attribute), DRIVERFS_ABI_VERSION, "brightness", 0644,
                                  brightness_show, brightness_store};
const dfs_attribute max_brightness = {sizeof(dfs_attribute), DRIVERFS_ABI_VERSION, "max_brightness", 0444,
                                      max_brightness_show, nullptr};
const dfs_attribute* const led_attrs[] = {&brightness, &max_brightness, nullptr};

const dfs_driver led_driver = {
    .size = sizeof(dfs_driver),
    .version = DRIVERFS_ABI_VERSION,
    .name = "led",
    .bus = "platform",
    .compatible = nullptr,
    .probe = led_probe,
    .remove = led_remove,
    .dev_attrs = led_attrs,
    .class_name = "leds",
};

int led_init(dfs_plugin* plugin, const dfs_host* h) {
    host = h;
    self = plugin;
    return host->register_driver(plugin, &led_driver);
}

void led_exit(dfs_plugin*) { host = nullptr; }

const dfs_plugin_desc led_desc = {
    sizeof(dfs_plugin_desc), DRIVERFS_ABI_VERSION, "led", "1.0", led_init, led_exit,
};

}  // namespace

DRIVERFS_PLUGIN(led_desc)
