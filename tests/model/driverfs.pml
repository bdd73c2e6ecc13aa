/* driverfs.pml: the stub / pin / unload-drain / reload / release / purge
 * protocol of driverfs as a Promela model, checked with spin (tests/model/check.sh).
 *
 * Every step names the C++ function it mirrors. One Promela statement is one
 * atomic step of the code (an atomic RMW, a store, or a section under a lock
 * that pins never take); an atomic{} block groups the ghost bookkeeping with
 * the one real step it belongs to.
 *
 * Objects (one driver, "led", one attribute node per load):
 *   stub record r (StubTable entry, src/core/stub.hpp):
 *     cnt[r]   ActiveRef::count_ (>= 0 active, < 0 deactivated, BIAS = kBias)
 *     drv[r]   Stub::driver_ (0 = nullptr, else the load number that owns it)
 *     gen[r]   Stub::generation_
 *     st[r]    Stub::state_ (LIVE / GOING / GONE)
 *     refs[r]  StubRef use_count (table + loaded plugin + open files)
 *   load l (one dlopen of the plugin, numbered 1..):
 *     mapped[l]      the plugin's code is mapped (map_private_copy .. unmap)
 *     ncnt[l]        the ActiveRef of the attribute node the load created
 *     nrec[l], ngen[l]  the node's DriverAttr: its stub record and generation
 *
 * Processes: two readers (open -> reads -> close, forever), a holder (one
 * open file held across unload/reload, closed later), the unloader, the
 * reloader, a purger (one StubTable::purge at any time).
 *
 * Ghosts (not in the code, only to state properties):
 *   held[r]   pins that succeeded and are not yet released
 *   incb[r]   callbacks (show/store) running on record r
 *   deact[r]  the deactivate() CAS happened and no reactivate() since
 *   drained[r] drain_until() returned true and no reactivate() since
 *
 * Build switches (-D to spin -a):
 *   LIVENESS          include the LTL property (else: safety run, asserts)
 *   NO_TIMEOUT        drain waits without deadline (used for "no starvation")
 *   BUG_PIN_FETCH_ADD_UNDO  the first pin: fetch_add, undo on failure
 *                           (safe, but failing pins can starve the drain)
 *   BUG_PIN_CHECK_THEN_INC  pin = load, check, then increment (broken)
 *   BUG_DRAIN_NO_WAIT       unload does not wait for the drain (broken)
 *   BUG_PURGE_IGNORES_REFS  purge frees inactive records still referenced (broken)
 *   BUG_NO_BIAS             unload marks going but pins still succeed; drain
 *                           waits for zero pins (the lxcfs starvation, broken)
 *   BUG_RELEASE_ON_INTERRUPT an interrupted open is freed by the daemon AND
 *                           released by the kernel (broken)
 */

#define BIAS    (-16)   /* ActiveRef::kBias, scaled: |BIAS| > any possible pin count */
#define NREC    2       /* stub records: the first, and one more after a purge */
#ifndef NLOAD
#define NLOAD   2       /* the initial load + 1 reload */
#endif
#define NONE    255

#define LIVE    0
#define GOING   1
#define GONE    2

#ifndef NUNLOAD
#define NUNLOAD 2
#endif

/* ---- stub records ---- */
short cnt[NREC];
byte  drv[NREC];
byte  gen[NREC];
byte  st[NREC];
byte  refs[NREC];
bool  inactive[NREC];   /* on StubTable::inactive_ */
bool  freed[NREC];      /* purged: the memory is gone */
byte  nrecs = 0;        /* records allocated so far */
byte  cur_rec = NONE;   /* the record the table finds under the name "led" */

/* ---- loads and their nodes (index 0 unused) ---- */
bool  mapped[NLOAD + 1];
short ncnt[NLOAD + 1];
byte  nrec[NLOAD + 1];
byte  ngen[NLOAD + 1];
byte  cur_node = 0;     /* the attribute node now in the tree (0: removed) */
byte  nload = 0;
bool  loaded = 0;       /* ModuleRecord::plugin != nullptr */

/* ---- locks ---- */
bool plugin_mu = 0;     /* PluginLifecycle::plugin_mu_ */
bool stub_mu = 0;       /* StubTable::mu_ */

/* ---- ghosts ---- */
byte held[NREC];
byte incb[NREC];
bool deact[NREC];
bool drained[NREC];
bool unl_busy = 0;      /* an unload is between its start and its return */
bool unl_ok = 0;

inline lock(m)   { atomic { m == 0 -> m = 1 } }
inline unlock(m) { m = 0 }

/* ActiveRef::pin() on the stub (Pin pin(stub.active()) in
 * DriverGate::enter, src/core/plugin_gate.cpp). ok := pinned. */
inline pin_stub(r, ok) {
    assert(!freed[r]);                          /* a purged stub is never pinned */
#if defined(BUG_PIN_CHECK_THEN_INC)
    if
    :: cnt[r] >= 0 ->                           /* load(), check ...            */
        atomic { cnt[r]++; ok = 1; held[r]++;   /* ... then a separate add      */
                 assert(!deact[r]) }
    :: else -> ok = 0
    fi
#elif defined(BUG_NO_BIAS)
    atomic { cnt[r]++; ok = 1; held[r]++ }      /* state is only a flag nobody checks */
#elif defined(BUG_PIN_FETCH_ADD_UNDO)
    /* The pin driverfs had first: fetch_add, then undo a failed pin. Safe,
     * but a stream of failing pins can keep the count above the bias so the
     * drain never sees it: the liveness check must find that cycle. */
    atomic {                                    /* count_.fetch_add(1) */
        if
        :: cnt[r] >= 0 -> ok = 1; held[r]++; assert(!deact[r])
        :: else -> ok = 0
        fi;
        cnt[r]++
    }
    if
    :: !ok -> cnt[r]--                          /* old < 0: unpin() undoes, pin fails */
    :: else -> skip
    fi
#else
    /* compare_exchange v -> v+1 only while v >= 0 (atomic_inc_unless_negative):
     * one atomic step; a failed pin writes nothing. */
    atomic {
        if
        :: cnt[r] >= 0 -> cnt[r]++; ok = 1; held[r]++; assert(!deact[r])
        :: else -> ok = 0
        fi
    }
#endif
}

/* ActiveRef::unpin(): fetch_sub(1); the drainer's wake-up is its guard below. */
inline unpin_stub(r) { atomic { cnt[r]--; held[r]-- } }

/* ActiveRef::pin() / unpin() on an attribute node (Node::active()). */
inline pin_node(n, ok) {
    /* One step: the node's count is never drained (NodeTree::remove only
     * deactivates it), so its failed-pin transient cannot matter here. */
    atomic {
        if
        :: ncnt[n] >= 0 -> ok = 1; ncnt[n]++
        :: else -> ok = 0
        fi
    }
}
inline unpin_node(n) { ncnt[n]-- }

/* The plugin's show()/store(), entered through a pinned stub. Runs in two
 * steps so that the unloader can act between them. */
inline callback(r, n) {
    atomic {
        incb[r]++;
        assert(drv[r] == n && mapped[n]);       /* right driver, code mapped, not null */
        assert(st[r] != GONE && !drained[r])    /* never after the drain / on a gone stub */
    }
    atomic {
        assert(drv[r] == n && mapped[n] && st[r] != GONE && !drained[r]);
        incb[r]--
    }
}

/* FUSE lookup + OpenFile::open (src/core/open_file.cpp) + op_open
 * (src/fuse/ops_file.cpp). opened := the kernel has a handle that it will
 * release exactly once. */
inline open_file(n, r, opened, may_interrupt) {
    atomic {                                    /* NodeTree::get: a NodePtr, through */
        if                                      /* DriverAttr->Driver a StubRef */
        :: cur_node != 0 -> n = cur_node; r = nrec[n]; refs[r]++
        :: else -> n = 0                        /* ENOENT: removed path */
        fi
    }
    opened = 0;
    if
    :: n != 0 ->
        pin_node(n, ok);                        /* OpenFile::open: pin_attr (open_file.cpp) */
        if
        :: ok ->
            pin_stub(r, ok2);                   /* validate() -> DriverGate::enter */
            if
            :: ok2 && gen[r] == ngen[n] -> unpin_stub(r); opened = 1
            :: ok2 && gen[r] != ngen[n] -> unpin_stub(r)      /* ENODEV */
            :: !ok2 -> skip                                   /* ENODEV */
            fi;
            unpin_node(n)
        :: else -> skip                         /* ENODEV: node removed */
        fi;
        if
        :: opened ->
            released = 0;
            if
            :: skip                             /* fuse_reply_open succeeded */
            :: may_interrupt -> atomic { opened = 0;             /* interrupted: op_open deletes the file, */
                        released = 1; refs[r]-- }   /* the kernel sends no release */
#ifdef BUG_RELEASE_ON_INTERRUPT
               atomic { assert(!released); released = 1 }
#endif
            fi
        :: else -> refs[r]--                    /* the OpenFile was never made */
        fi
    :: else -> skip
    fi
}

/* op_release (src/fuse/ops_file.cpp): daemon code only, no pin, no plugin. */
inline release_file(r) {
    atomic { assert(!released); released = 1; refs[r]-- }
}

/* OpenFile::read -> DriverAttr::show (or write -> store): pin node, pin
 * stub, check generation, call, unpin stub, unpin node. */
inline read_file(n, r) {
    pin_node(n, ok);                            /* OpenFile::read: current_value */
    if
    :: ok ->
        pin_stub(r, ok2);                       /* DriverGate::enter */
        if
        :: ok2 && gen[r] == ngen[n] -> callback(r, n); unpin_stub(r)
        :: ok2 && gen[r] != ngen[n] -> unpin_stub(r)          /* ENODEV */
        :: !ok2 -> skip                                       /* ENODEV */
        fi;
        unpin_node(n)
    :: else -> skip                             /* ENODEV */
    fi
}

proctype Reader() {
    byte n, r; bool ok, ok2, opened, released;
end:
    do
    :: open_file(n, r, opened, 0);
       if
       :: opened ->
           read_file(n, r);                     /* the loop: reopen, read again */
           release_file(r)                      /* close(): exactly one release */
       :: else -> skip
       fi;
       d_step { n = 0; r = 0; ok = 0; ok2 = 0; opened = 0; released = 0 }   /* forget locals */
    od
}

proctype Holder() {
    byte n, r; bool ok, ok2, opened, released;
    open_file(n, r, opened, 1);
    if
    :: opened ->
        read_file(n, r);
        (!loaded || nload == NLOAD);            /* hold it across an unload */
        read_file(n, r);                        /* ENODEV if its load is gone */
        release_file(r)
    :: else -> skip
    fi;
    assert(!opened || released)
}

proctype Unloader() {
    byte k = 0, r, l;
end:
    do
    :: k < NUNLOAD ->
        atomic { plugin_mu == 0 && loaded ->    /* PluginLifecycle::unload_plugin: plugin_mu_ */
                 plugin_mu = 1; unl_busy = 1; unl_ok = 0 }
        r = cur_rec; l = cur_node;
        /* unload_locked 1: StubTable::begin_unregister, under mu_ */
        lock(stub_mu);
        st[r] = GOING;
        atomic {                                /* ActiveRef::deactivate: CAS add kBias */
            if
            :: cnt[r] >= 0 ->
#ifndef BUG_NO_BIAS
                cnt[r] = cnt[r] + BIAS;
#endif
                deact[r] = 1
            :: else -> skip
            fi
        }
        unlock(stub_mu);
        /* unload_locked 2: StubTable::drain -> ActiveRef::drain_until */
#ifdef BUG_DRAIN_NO_WAIT
        drained[r] = 1;
#else
        if
#ifdef BUG_NO_BIAS
        :: cnt[r] == 0 -> drained[r] = 1
#else
        :: cnt[r] == BIAS -> drained[r] = 1     /* predicate true: returns true */
#endif
#ifndef NO_TIMEOUT
        :: cnt[r] != BIAS ->                    /* deadline passed, predicate false */
            /* StubTable::abort_unregister, under mu_ */
            lock(stub_mu);
            st[r] = LIVE;
            atomic {                            /* ActiveRef::reactivate */
                if :: cnt[r] < 0 -> cnt[r] = cnt[r] - BIAS; deact[r] = 0
                   :: else -> skip
                fi
            }
            unlock(stub_mu);
            atomic { unl_busy = 0; plugin_mu = 0 }   /* returns EBUSY */
            k++;
            goto next
#endif
        fi;
#endif
        /* retire_plugin: begin_unregister + drain again (already drained:
         * immediate); unbind: remove() runs unpinned, the unloader owns the
         * drained stub, so no reader may be in a callback. */
        assert(held[r] == 0 && incb[r] == 0);
        /* remove_driver -> NodeTree::remove: node off the tree, deactivated */
        atomic {
            cur_node = 0;
            if :: ncnt[l] >= 0 -> ncnt[l] = ncnt[l] + BIAS :: else -> skip fi
        }
        /* plugin exit() */
        assert(incb[r] == 0);
        /* StubTable::finish_unregister, under mu_ */
        lock(stub_mu);
        atomic { assert(incb[r] == 0); drv[r] = 0 }
        st[r] = GONE;
        inactive[r] = 1;
        unlock(stub_mu);
        /* unload_locked 6: unmap (dlclose) */
        atomic { assert(incb[r] == 0); mapped[l] = 0 }
        /* rec.plugin = nullptr: the plugin's Driver objects let go */
        atomic { refs[r]--; loaded = 0; unl_ok = 1; unl_busy = 0; plugin_mu = 0 };
        k++;
next:   skip
    :: else -> break
    od
}

proctype Reloader() {
    byte l, r;
end:
    do
    :: nload < NLOAD ->
        atomic { plugin_mu == 0 && !loaded -> plugin_mu = 1 }   /* PluginLifecycle::load_locked */
        nload++; l = nload;
        mapped[l] = 1;                          /* map_private_copy, init() */
        /* commit_plugin -> StubTable::activate, under mu_ */
        lock(stub_mu);
        atomic {
            if
            :: cur_rec != NONE -> r = cur_rec  /* reuse the inactive record */
            :: else -> r = nrecs; nrecs++;      /* make_shared<Stub>: ActiveRef{false} */
                       cnt[r] = BIAS; deact[r] = 1; refs[r] = 1; cur_rec = r
            fi;
            /* never a half-drained stub: deactivated, no pin held, no call */
            assert(cnt[r] < 0 && held[r] == 0 && incb[r] == 0 && !freed[r]);
            inactive[r] = 0;
            drv[r] = l                          /* driver_.store */
        }
        gen[r]++;                               /* generation_.fetch_add(1) */
        st[r] = LIVE;                           /* state_.store(live) */
        atomic {                                /* ActiveRef::reactivate: publishes */
            if :: cnt[r] < 0 -> cnt[r] = cnt[r] - BIAS; deact[r] = 0; drained[r] = 0
               :: else -> skip
            fi
        }
        unlock(stub_mu);
        refs[r]++;                              /* make_shared<Driver>(stub, ...) */
        /* add the attribute node (DriverAttr holds driver + generation) */
        atomic { ncnt[l] = 0; nrec[l] = r; ngen[l] = gen[r]; cur_node = l }
        atomic { loaded = 1; plugin_mu = 0 }
    :: else -> break
    od
}

proctype Purger() {
    byte r;
    /* StubTable::purge, under mu_: free inactive records with use_count 1 */
    lock(stub_mu);
    atomic {
        r = cur_rec;
        if
#ifdef BUG_PURGE_IGNORES_REFS
        :: r != NONE && inactive[r] ->
#else
        :: r != NONE && inactive[r] && refs[r] == 1 ->
#endif
            freed[r] = 1; inactive[r] = 0; refs[r] = 0; cur_rec = NONE
        :: else -> skip
        fi
    }
    unlock(stub_mu)
}

init {
    atomic {
        run Reloader();                         /* its first pass is the initial load */
        run Unloader();
        run Reader();
#ifndef ONE_READER
        run Reader();
#endif
        run Holder();
        run Purger()
    }
}

#ifdef LIVENESS
/* An unload that started returns (EBUSY or done). With NO_TIMEOUT the drain
 * has no deadline, so this says: once the callbacks in flight return, the
 * drain completes, however much traffic keeps coming. */
ltl unload_finishes { [] (unl_busy -> <> !unl_busy) }
#endif
