/* driverfs plugin ABI: the only header a driver plugin needs.
 *
 * A plugin is a shared object exporting one C symbol, DRIVERFS_ENTRY_SYMBOL,
 * that returns a static descriptor. The host calls init() with a table of its
 * services; everything the plugin registers goes through that table, never
 * through symbols it links against.
 *
 * Compatibility rules:
 *  - every struct crossing the boundary starts with `size` (sizeof as the
 *    plugin compiled it) and a version; the host reads only the fields that
 *    fit in `size`, so a plugin built against an older header still loads;
 *  - a plugin whose abi_version is newer than the host's is refused with a
 *    message naming both versions.
 *
 * Threading: show/store/probe/remove may run concurrently on several host
 * threads. The host guarantees that none of them runs after exit() returns
 * and that exit() runs only once nothing of the plugin is in flight.
 */
#ifndef DRIVERFS_PLUGIN_H
#define DRIVERFS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* History: 1 first release; 2 added dfs_driver's suspend, resume, shutdown,
 * class_name, bin_attrs, groups and dfs_host's register_bus, add_device;
 * 3 added dfs_attribute's flags and dfs_host's update_group; 4 added class
 * devices (dfs_class_device, dfs_host's class_device_create/destroy) and
 * dfs_host's device_driver, device_parent (all appended: an older plugin
 * still loads, its structs are shorter). */
#define DRIVERFS_ABI_VERSION 4u
/* The oldest plugin ABI this host still loads. */
#define DRIVERFS_ABI_MIN 1u
#define DRIVERFS_ENTRY_SYMBOL "driverfs_plugin_entry"

/* probe() may return -DFS_EPROBE_DEFER (Linux's EPROBE_DEFER): "not yet,
 * something I need is missing"; the host retries whenever another device
 * binds. */
#define DFS_EPROBE_DEFER 517

/* Largest text attribute value, as in sysfs: one page. */
#define DRIVERFS_PAGE_SIZE 4096u

/* Host-owned objects, opaque to plugins. */
typedef struct dfs_device dfs_device;
typedef struct dfs_plugin dfs_plugin;

typedef struct dfs_attribute {
	uint32_t size;    /* sizeof(dfs_attribute) */
	uint32_t version; /* DRIVERFS_ABI_VERSION */
	const char *name;
	uint32_t mode;    /* permission bits, e.g. 0644; 0444 read-only, 0200 write-only */
	/* Format the value into buf (capacity DRIVERFS_PAGE_SIZE); return the
	 * number of bytes written or a negative errno. */
	ssize_t (*show)(dfs_device *dev, const struct dfs_attribute *attr,
	                char *buf, size_t cap);
	/* Parse buf (len bytes, not NUL-terminated); return the number of bytes
	 * consumed (normally len) or a negative errno. */
	ssize_t (*store)(dfs_device *dev, const struct dfs_attribute *attr,
	                 const char *buf, size_t len);

	/* Fields below were added in version 3; check `size`. */

	uint32_t flags; /* DFS_ATTR_* */
} dfs_attribute;

/* The value changes only when stored through this file or when the driver
 * calls host->notify(): readers may be served from the kernel page cache,
 * which the host invalidates on both. Do not set it on a value that drifts
 * on its own (a sensor reading, a counter). */
#define DFS_ATTR_CACHEABLE 0x1u

/* A binary attribute: raw bytes at an offset, `length` bytes long (may be
 * more than a page), no snapshot; reads at or past `length` return 0 bytes,
 * writes there fail with EFBIG, longer requests are cut at `length`. */
typedef struct dfs_bin_attribute {
	uint32_t size;    /* sizeof(dfs_bin_attribute) */
	uint32_t version; /* DRIVERFS_ABI_VERSION */
	const char *name;
	uint32_t mode;
	size_t length;
	/* Copy up to count bytes at offset off into buf; bytes copied or -errno. */
	ssize_t (*read)(dfs_device *dev, const struct dfs_bin_attribute *attr,
	                char *buf, size_t off, size_t count);
	/* Take count bytes at offset off; bytes taken or -errno. */
	ssize_t (*write)(dfs_device *dev, const struct dfs_bin_attribute *attr,
	                 const char *buf, size_t off, size_t count);
} dfs_bin_attribute;

/* Attributes created together; a named group is a subdirectory of the
 * device, like sysfs attribute groups. */
typedef struct dfs_attribute_group {
	uint32_t size;    /* sizeof(dfs_attribute_group) */
	uint32_t version; /* DRIVERFS_ABI_VERSION */
	const char *name; /* NULL: in the device directory itself */
	const dfs_attribute *const *attrs; /* NULL-terminated */
	/* The mode to create attr with on dev, or 0 to leave it out. Called at
	 * bind time and by host->update_group(). NULL: every attribute, with
	 * its own mode. */
	uint32_t (*is_visible)(dfs_device *dev, const dfs_attribute *attr);
} dfs_attribute_group;

typedef struct dfs_driver {
	uint32_t size;    /* sizeof(dfs_driver) */
	uint32_t version; /* DRIVERFS_ABI_VERSION */
	const char *name; /* unique among loaded drivers; [A-Za-z0-9_.-] */
	const char *bus;  /* bus to register on, e.g. "platform" */
	/* NULL-terminated names this driver matches (the device's `compatible`
	 * property, or its name without the instance number). NULL: match the
	 * driver name only. */
	const char *const *compatible;
	/* Return 0 to bind, a negative errno to refuse. May be NULL. */
	int (*probe)(dfs_device *dev);
	/* Undo probe. May be NULL. */
	void (*remove)(dfs_device *dev);
	/* NULL-terminated attributes created on every bound device. */
	const dfs_attribute *const *dev_attrs;

	/* Fields below were added after the first release: a plugin built
	 * against an older header has a smaller `size` and lacks them. */

	/* Power management, called with the device bound: a nonzero return
	 * from suspend aborts a system suspend (what was suspended is resumed).
	 * Each may be NULL. */
	int (*suspend)(dfs_device *dev);
	int (*resume)(dfs_device *dev);
	/* Called for every bound device when the daemon stops, newest first. */
	void (*shutdown)(dfs_device *dev);
	/* The host makes a class device of this class for every bound device,
	 * named as the device: devices/.../<dev>/<class_name>/<dev>, linked from
	 * class/<class_name>/<dev>, carrying the same dev_attrs and bin_attrs
	 * (their callbacks get the bound device, as on the device itself).
	 * NULL: none. A driver that wants its class device to own its
	 * attributes, as Linux's do, creates it with host->class_device_create
	 * (ABI 4) instead. */
	const char *class_name;
	/* NULL-terminated binary attributes and attribute groups, created on
	 * every bound device like dev_attrs. */
	const dfs_bin_attribute *const *bin_attrs;
	const dfs_attribute_group *const *groups;
} dfs_driver;

/* A bus a plugin registers: where its own devices and drivers meet. */
typedef struct dfs_bus {
	uint32_t size;    /* sizeof(dfs_bus) */
	uint32_t version; /* DRIVERFS_ABI_VERSION */
	const char *name; /* bus/<name>/ in the tree; [A-Za-z0-9_.-] */
	/* Does driver `driver_name` handle `dev`? Return nonzero to match.
	 * NULL: the platform rule (compatible property or name without its
	 * instance number). driver_override is applied by the host first. */
	int (*match)(const dfs_device *dev, const char *driver_name);
} dfs_bus;

/* A class device (ABI 4), as Linux's device_create(): a device directory
 * of its own below its parent, devices/.../<parent>/<class_name>/<name>,
 * with uevent, power/, subsystem -> class/<class_name>, device -> the
 * parent, its groups' attributes and, with a device number, `dev` and a
 * link dev/char/MAJ:MIN (dev/block/ for DFS_CLASS_DEVICE_BLOCK);
 * class/<class_name>/<name> links to it. Its attribute callbacks and
 * is_visible get the class device's handle (get_drvdata gives the drvdata
 * it was created with), run pinned like every call into the driver, and
 * stop with the binding of the parent. A class device of no device lives
 * in devices/virtual/<class_name>/<name>, has no `device` link, and lasts
 * until it is destroyed or its plugin is unloaded (exit() may destroy it;
 * the host destroys what is left once exit() returns). */
typedef struct dfs_class_device {
	uint32_t size;    /* sizeof(dfs_class_device) */
	uint32_t version; /* DRIVERFS_ABI_VERSION */
	const char *class_name; /* [A-Za-z0-9_.-], e.g. "leds", "hwmon" */
	/* [A-Za-z0-9_.:-]; one "%d" in it is replaced by the lowest number
	 * free in the class ("hwmon%d" -> hwmon0, hwmon1, ...). */
	const char *name;
	uint32_t major, minor; /* device number; major 0: none */
	uint32_t flags;        /* DFS_CLASS_DEVICE_* */
	/* NULL-terminated, or NULL; named groups are subdirectories. */
	const dfs_attribute_group *const *groups;
	/* NULL-terminated "KEY=VALUE" uevent properties, or NULL. */
	const char *const *props;
	/* For a class device of no device (parent NULL): the driver whose code
	 * its callbacks run, one the calling plugin registered. Ignored when
	 * there is a parent (its driver is the owner). */
	const dfs_driver *owner;
} dfs_class_device;

/* The device number is a block device's (dev/block/), not a char one's. */
#define DFS_CLASS_DEVICE_BLOCK 0x1u

enum dfs_log_level {
	DFS_LOG_ERR = 3,
	DFS_LOG_WARNING = 4,
	DFS_LOG_INFO = 6,
	DFS_LOG_DEBUG = 7,
};

/* Services the host lends to a plugin, valid from init() until exit() returns. */
typedef struct dfs_host {
	uint32_t size;    /* sizeof(dfs_host) as the host compiled it */
	uint32_t version; /* host ABI version */
	/* Register a driver; only valid during init(). The struct and everything
	 * it points to must stay valid until exit() returns. Returns 0 or a
	 * negative errno (-EEXIST for a name already in use). */
	int (*register_driver)(dfs_plugin *self, const dfs_driver *drv);
	const char *(*device_name)(const dfs_device *dev);
	/* Value of a device property (KEY=VALUE given at creation), or NULL. */
	const char *(*device_property)(const dfs_device *dev, const char *key);
	/* Per-device driver data, set in probe and cleared in remove. */
	void (*set_drvdata)(dfs_device *dev, void *data);
	void *(*get_drvdata)(const dfs_device *dev);
	void (*log)(dfs_plugin *self, int level, const char *message);
	/* Tell pollers of dev's attribute `attr` that its value changed; an
	 * attribute of a named group is "group/attr". */
	void (*notify)(dfs_device *dev, const char *attr);

	/* Fields below were added after the first release; check `size`. */

	/* Register a bus; only valid during init(). It goes away at unload,
	 * with every device on it. 0 or a negative errno (-EEXIST). */
	int (*register_bus)(dfs_plugin *self, const dfs_bus *bus);
	/* Create a device on a bus, as bus/<bus>/new_device does ("NAME",
	 * props as "KEY=VALUE" strings, NULL-terminated or NULL). Valid after
	 * init() returned (from a callback or a plugin thread). 0 or -errno. */
	int (*add_device)(dfs_plugin *self, const char *bus, const char *name, const char *const *props);

	/* Added in version 3. */

	/* Ask `group` (one of the groups of the driver dev is bound to, or for
	 * a class device one of the groups it was created with) its
	 * is_visible() again for every attribute on dev and make the files match,
	 * as Linux's sysfs_update_group(): newly visible files appear, hidden
	 * ones go (an fd still open on one gets ENODEV), a file whose mode
	 * changed is made anew with the new mode; a named group's directory
	 * exists while something in it is visible. Callable from any callback
	 * of the driver (a store of another attribute: `echo timer > trigger`)
	 * or from a plugin thread; the host holds none of its locks while it
	 * calls is_visible. A store of an attribute that this call removes
	 * still completes; only later I/O on that file gets ENODEV. From
	 * probe() it returns -ENODEV (not bound yet): the host asks is_visible
	 * for every group right after probe returns. Returns 0, -EINVAL for a
	 * NULL argument, -ENODEV if dev is not bound (or being unbound) or
	 * `group` is not one of its driver's groups, -EDEADLK from inside an
	 * is_visible. */
	int (*update_group)(dfs_device *dev, const dfs_attribute_group *group);

	/* Added in version 4. */

	/* The driver a callback runs for: the one probing or bound to dev, or
	 * for a class device the driver that created it. NULL if none. Lets
	 * one probe() serve several drivers. */
	const dfs_driver *(*device_driver)(const dfs_device *dev);
	/* dev's parent device (for a class device, the device it was created
	 * under), or NULL for a top-level device. */
	dfs_device *(*device_parent)(const dfs_device *dev);
	/* Create a class device under `parent`, a device in probe() of, or
	 * bound to, a driver of the calling plugin `self` (Linux's device_create with
	 * groups). drvdata is what get_drvdata(*out) returns. Callable from
	 * probe() (then it exists before the bind event, as on Linux), any
	 * other callback of that driver, or a plugin thread while the parent
	 * stays bound. Whatever the driver did not destroy when remove()
	 * returns, the host destroys. parent NULL: a class device of no device
	 * for info->owner (devices/virtual/...), callable from any callback or
	 * plugin thread after init() returned. *out is valid until destroyed
	 * (by class_device_destroy, or by the host at unbind, or after exit()). 0 and
	 * *out set, or -EINVAL (a bad name, a NULL or truncated argument, no
	 * owner for a parentless one), -EEXIST (the name is taken in the class,
	 * or the parent has an entry named like the class), -ENODEV (parent not
	 * bound to the driver or being unbound; owner not registered or
	 * unloading). */
	int (*class_device_create)(dfs_plugin *self, dfs_device *parent, const dfs_class_device *info,
	                           void *drvdata, dfs_device **out);
	/* Remove a class device made by class_device_create: its files stop
	 * answering (calls in flight are waited for, except from inside a
	 * callback, where they finish on their own), its remove event is
	 * sent. 0, -EINVAL (not a class device), -ENODEV (already gone),
	 * -EBUSY (a call on it did not return within the unload timeout; it
	 * stays). */
	int (*class_device_destroy)(dfs_device *cdev);
} dfs_host;

typedef struct dfs_plugin_desc {
	uint32_t size;        /* sizeof(dfs_plugin_desc) */
	uint32_t abi_version; /* DRIVERFS_ABI_VERSION the plugin was built against */
	const char *name;     /* module name: module/<name>/ in the tree */
	const char *version;  /* free-form version string */
	/* Register drivers through host; return 0 or a negative errno. */
	int (*init)(dfs_plugin *self, const dfs_host *host);
	/* Release what init acquired. Runs after every device was unbound. */
	void (*exit)(dfs_plugin *self);
} dfs_plugin_desc;

typedef const dfs_plugin_desc *(*dfs_entry_fn)(void);

#ifdef __cplusplus
}
#endif

/* Declare the entry point in exactly one source file of a plugin. */
#ifdef __cplusplus
#define DRIVERFS_PLUGIN(desc_expr) \
	extern "C" __attribute__((visibility("default"))) \
	const dfs_plugin_desc *driverfs_plugin_entry(void) { return &(desc_expr); }
#else
#define DRIVERFS_PLUGIN(desc_expr) \
	__attribute__((visibility("default"))) \
	const dfs_plugin_desc *driverfs_plugin_entry(void) { return &(desc_expr); }
#endif

#endif /* DRIVERFS_PLUGIN_H */
