// The core object: the fixed top of the tree, the control files, and the parts it fronts.
#include "core/core.hpp"

#include "core_attr.hpp"
#include "core/log.hpp"
#include "core/validate.hpp"

namespace driverfs {

Core::Core(CoreOptions options)
    : options_(std::move(options)), dirs_(build_fixed_tree(tree_)),
      model_(tree_, events_, options_.unload_timeout, dirs_.model), power_(model_),
      lifecycle_({tree_, stubs_, events_, model_, power_, options_.plugin_dir, options_.unload_timeout, dirs_.module}) {
    add_control_files();
    model_.add_bus("platform", nullptr);  // the platform rule; cannot fail: the first bus
}

Core::~Core() { shutdown(); }

Core::FixedDirs Core::build_fixed_tree(NodeTree& tree) {
    FixedDirs d;
    NodePtr root = tree.root();
    d.model.bus = tree.add_dir(root, "bus").value();
    d.model.devices = tree.add_dir(root, "devices").value();
    d.model.cls = tree.add_dir(root, "class").value();
    NodePtr dev = tree.add_dir(root, "dev").value();
    d.model.dev_block = tree.add_dir(dev, "block").value();
    d.model.dev_char = tree.add_dir(dev, "char").value();
    d.module = tree.add_dir(root, "module").value();
    d.control = tree.add_dir(root, "control").value();
    return d;
}

void Core::add_control_files() {
    tree_.add_attr(dirs_.control, "load", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this](std::string_view data) -> Status {
                       Result<std::string> r = load_plugin(std::string(chomp(data)));
                       if (!r) return logged(r.error(), "control/load");
                       return {};
                   }));
    tree_.add_attr(dirs_.control, "unload", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this](std::string_view data) {
                       return logged(unload_plugin(std::string(chomp(data))), "control/unload");
                   }));
}

CoreStats Core::stats() const {
    CoreStats st{};
    st.live_stubs = stubs_.live_count();
    st.inactive_stubs = stubs_.inactive_count();
    st.nodes = tree_.node_count();
    st.last_event = events_.last_seqnum();
    DeviceModel::Counts counts = model_.counts();
    st.devices = counts.devices;
    st.bound_devices = counts.bound_devices;
    st.buses = counts.buses;
    st.plugins_loaded = lifecycle_.plugins_loaded();
    return st;
}

}  // namespace driverfs
