package baseimage

import (
	"fmt"
	"slices"
)

// SkeletonGroups are the directory groups of Skeleton, in the order they
// are described.
var SkeletonGroups = []string{"etc", "bin_and_lib", "home", "root", "tmp", "var", "run", "mount_points", "opt_srv"}

// SkeletonOptions selects what Skeleton describes.
type SkeletonOptions struct {
	// Disabled names groups (of SkeletonGroups) to leave out.
	Disabled []string
	// UsrMerged makes /bin, /sbin, /lib and /lib64 symlinks into /usr.
	UsrMerged bool
	// Extra are further directories, described last (they win over a group's).
	Extra []Entry
}

// Skeleton describes the directory tree of a Linux root file system, with
// the modes a stock distribution gives them: 0755 for what the system
// owns, 1777 (sticky, world-writable) for /tmp, /var/tmp and /run/lock,
// 0700 for /root and 0555 for /proc and /sys, all owned by root.
func Skeleton(o SkeletonOptions) ([]Entry, error) {
	for _, g := range o.Disabled {
		if !slices.Contains(SkeletonGroups, g) {
			return nil, fmt.Errorf("unknown skeleton group %q, want one of %v: %w", g, SkeletonGroups, ErrInvalidArgument)
		}
	}
	on := func(g string) bool { return !slices.Contains(o.Disabled, g) }
	var out []Entry
	add := func(es ...Entry) { out = append(out, es...) }
	if on("etc") {
		add(Dir("etc", 0o755))
	}
	if on("bin_and_lib") {
		add(Dir("usr", 0o755))
		for _, d := range []string{"bin", "sbin", "lib", "lib64", "libexec", "share", "local", "local/bin", "local/sbin", "local/lib", "local/share"} {
			add(Dir("usr/"+d, 0o755))
		}
		for _, d := range []string{"bin", "sbin", "lib", "lib64"} {
			if o.UsrMerged {
				add(Symlink(d, "usr/"+d))
			} else {
				add(Dir(d, 0o755))
			}
		}
	}
	if on("home") {
		add(Dir("home", 0o755))
	}
	if on("root") {
		add(Dir("root", 0o700))
	}
	if on("tmp") {
		add(Dir("tmp", 0o1777))
	}
	if on("var") {
		add(Dir("var", 0o755))
		for _, d := range []string{"cache", "lib", "log", "spool"} {
			add(Dir("var/"+d, 0o755))
		}
		add(Dir("var/tmp", 0o1777))
		if on("run") {
			add(Symlink("var/run", "../run"), Symlink("var/lock", "../run/lock"))
		}
	}
	if on("run") {
		add(Dir("run", 0o755), Dir("run/lock", 0o1777))
	}
	if on("mount_points") {
		add(Dir("dev", 0o755), Dir("proc", 0o555), Dir("sys", 0o555), Dir("mnt", 0o755), Dir("media", 0o755))
	}
	if on("opt_srv") {
		add(Dir("opt", 0o755), Dir("srv", 0o755))
	}
	for _, e := range o.Extra {
		if e.Type != TypeDir {
			return nil, fmt.Errorf("extra directory /%s is a %s: %w", e.Path, e.Type, ErrInvalidArgument)
		}
		add(e)
	}
	return out, nil
}
