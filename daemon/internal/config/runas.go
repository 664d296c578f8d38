package config

import (
	"fmt"
	"os/user"
	"strconv"
)

// canSwitchIDs reports why this process cannot start a process as another
// user and group, or nil when it can (see runas_linux.go).
var canSwitchIDs = switchIDsCheck

// validatePluginRunAs resolves the block's user and group into RunAs and
// refuses what the daemon could not run the plugin as.
func (p *parser) validatePluginRunAs(pl *Plugin, key string) {
	if pl.User == "" && pl.Group == "" {
		return
	}
	ra := &RunAs{UID: uint32(currentUID()), GID: uint32(currentGID())}
	ok := true
	if pl.User != "" {
		u, err := lookupUser(pl.User)
		if err != nil {
			p.errAt(key+".user", pl.DeclRange.Ptr(), "Unknown user", fmt.Sprintf("user %q: %v.", truncate(pl.User), err))
			ok = false
		} else {
			ra.UID, ra.GID = u[0], u[1]
		}
	}
	if pl.Group != "" {
		g, err := lookupGroup(pl.Group)
		if err != nil {
			p.errAt(key+".group", pl.DeclRange.Ptr(), "Unknown group", fmt.Sprintf("group %q: %v.", truncate(pl.Group), err))
			ok = false
		} else {
			ra.GID = g
		}
	}
	if !ok {
		return
	}
	if err := canSwitchIDs(); err != nil {
		attr := "user"
		if pl.User == "" {
			attr = "group"
		}
		p.errAt(key+"."+attr, pl.DeclRange.Ptr(), "Cannot run the plugin as another user",
			fmt.Sprintf("The daemon cannot switch plugin %q to uid %d gid %d: %v. Run the daemon as root, or remove user and group.",
				truncate(pl.Name), ra.UID, ra.GID, err))
		return
	}
	pl.RunAs = ra
}

// lookupUser returns the uid and primary gid of a user name or numeric
// uid.
func lookupUser(s string) ([2]uint32, error) {
	var u *user.User
	var err error
	if _, nerr := strconv.ParseUint(s, 10, 32); nerr == nil {
		u, err = user.LookupId(s)
		if err != nil {
			// A numeric uid need not have a passwd entry; its group is then
			// the same number.
			id, _ := strconv.ParseUint(s, 10, 32)
			return [2]uint32{uint32(id), uint32(id)}, nil
		}
	} else if u, err = user.Lookup(s); err != nil {
		return [2]uint32{}, err
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return [2]uint32{}, fmt.Errorf("uid %q is not a number", u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return [2]uint32{}, fmt.Errorf("gid %q is not a number", u.Gid)
	}
	return [2]uint32{uint32(uid), uint32(gid)}, nil
}

// lookupGroup returns the gid of a group name or numeric gid.
func lookupGroup(s string) (uint32, error) {
	if id, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(id), nil
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("gid %q is not a number", g.Gid)
	}
	return uint32(id), nil
}
