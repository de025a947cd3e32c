package etcfiles

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/rules-img/rules_img/img_tool/pkg/baseimage"
	"path"
	"strconv"
	"strings"
)

// User is one /etc/passwd record; the JSON of the rules' passwd_entry().
type User struct {
	Username string `json:"username"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Gecos    string `json:"gecos,omitempty"`
	Home     string `json:"home,omitempty"`  // default "/": no home directory
	Shell    string `json:"shell,omitempty"` // default "/sbin/nologin"
}

// Group is one /etc/group record; the JSON of the rules' group_entry().
type Group struct {
	Name  string   `json:"name"`
	GID   int      `json:"gid"`
	Users []string `json:"users,omitempty"`
}

// PasswdOptions is what the passwd, group and shadow files hold.
type PasswdOptions struct {
	Users  []User
	Groups []Group
	// PasswdSrcs, GroupSrcs and ShadowSrcs are the contents of existing
	// files, merged before Users and Groups, in order.
	PasswdSrcs, GroupSrcs, ShadowSrcs []NamedData
	PasswdPath, GroupPath, ShadowPath string
	CreateHomes, WriteShadow          bool
	HomeMode, Mode, ShadowMode        int64
}

// NamedData is the content of an input file and its name for errors.
type NamedData struct {
	Name string
	Data []byte
}

// ParseUser decodes one passwd_entry() JSON string strictly.
func ParseUser(s string) (User, error) {
	var u User
	if err := decodeStrict(s, &u); err != nil {
		return u, fmt.Errorf("user %s: %w", s, err)
	}
	return u, nil
}

// ParseGroup decodes one group_entry() JSON string strictly.
func ParseGroup(s string) (Group, error) {
	var g Group
	if err := decodeStrict(s, &g); err != nil {
		return g, fmt.Errorf("group %s: %w", s, err)
	}
	return g, nil
}

func decodeStrict(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", err, baseimage.ErrInvalidArgument)
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON object: %w", baseimage.ErrInvalidArgument)
	}
	return nil
}

const maxID = 1<<31 - 1

// checkName refuses names that would break the colon-separated files.
func checkName(kind, n string) error {
	if n == "" || len(n) > 256 || strings.ContainsAny(n, ":,\n\r\t /\x00") || strings.HasPrefix(n, "-") {
		return fmt.Errorf("%s name %q: want 1 to 256 characters, none of ':', ',', '/', whitespace, not starting with '-': %w", kind, n, baseimage.ErrInvalidArgument)
	}
	return nil
}

func checkField(what, v string) error {
	if strings.ContainsAny(v, ":\n\r\x00") {
		return fmt.Errorf("%s %q contains ':' or a line break: %w", what, v, baseimage.ErrInvalidArgument)
	}
	return nil
}

func (u *User) normalize() error {
	if err := checkName("user", u.Username); err != nil {
		return err
	}
	if u.UID < 0 || u.UID > maxID || u.GID < 0 || u.GID > maxID {
		return fmt.Errorf("user %s: uid %d / gid %d out of range 0 to %d: %w", u.Username, u.UID, u.GID, maxID, baseimage.ErrInvalidArgument)
	}
	if u.Home == "" {
		u.Home = "/"
	}
	if u.Shell == "" {
		u.Shell = "/sbin/nologin"
	}
	for _, f := range [][2]string{{"gecos", u.Gecos}, {"home", u.Home}, {"shell", u.Shell}} {
		if err := checkField("user "+u.Username+": "+f[0], f[1]); err != nil {
			return err
		}
	}
	if !path.IsAbs(u.Home) || !path.IsAbs(u.Shell) {
		return fmt.Errorf("user %s: home %q and shell %q must be absolute paths: %w", u.Username, u.Home, u.Shell, baseimage.ErrInvalidArgument)
	}
	return nil
}

func (u User) line() string {
	return fmt.Sprintf("%s:x:%d:%d:%s:%s:%s\n", u.Username, u.UID, u.GID, u.Gecos, u.Home, u.Shell)
}

func (g *Group) normalize() error {
	if err := checkName("group", g.Name); err != nil {
		return err
	}
	if g.GID < 0 || g.GID > maxID {
		return fmt.Errorf("group %s: gid %d out of range 0 to %d: %w", g.Name, g.GID, maxID, baseimage.ErrInvalidArgument)
	}
	for _, m := range g.Users {
		if err := checkName("member of group "+g.Name+": user", m); err != nil {
			return err
		}
	}
	return nil
}

func (g Group) line() string {
	return fmt.Sprintf("%s:x:%d:%s\n", g.Name, g.GID, strings.Join(g.Users, ","))
}

// lines yields the non-empty, non-comment lines of a colon file.
func lines(src NamedData, fields int, each func(n int, f []string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(src.Data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		l := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, ":")
		if len(f) != fields {
			return fmt.Errorf("%s:%d: want %d colon-separated fields, got %d: %w", src.Name, n, fields, len(f), baseimage.ErrInvalidArgument)
		}
		if err := each(n, f); err != nil {
			return fmt.Errorf("%s:%d: %w", src.Name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", src.Name, err)
	}
	return nil
}

func parseID(what, s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > maxID {
		return 0, fmt.Errorf("%s %q is not a number from 0 to %d: %w", what, s, maxID, baseimage.ErrInvalidArgument)
	}
	return v, nil
}

// Passwd describes the passwd, group and (optionally) shadow files and the
// users' home directories. Duplicate user names, uids, group names or gids
// are an error, as is a group member that no passwd record defines.
// Home directories are created for declared users (not for those of
// merged files) whose home is not "/". Shadow records of merged files are
// kept verbatim; every other user gets
// a locked one ("!*"): no password hash is ever accepted.
func Passwd(o PasswdOptions) ([]baseimage.Entry, error) {
	var users []User
	for _, src := range o.PasswdSrcs {
		err := lines(src, 7, func(_ int, f []string) error {
			uid, err := parseID("uid", f[2])
			if err != nil {
				return err
			}
			gid, err := parseID("gid", f[3])
			if err != nil {
				return err
			}
			users = append(users, User{Username: f[0], UID: uid, GID: gid, Gecos: f[4], Home: f[5], Shell: f[6]})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	fromFiles := len(users)
	users = append(users, o.Users...)
	byName, byUID := map[string]bool{}, map[int]string{}
	for i := range users {
		u := &users[i]
		if err := u.normalize(); err != nil {
			return nil, err
		}
		if byName[u.Username] {
			return nil, fmt.Errorf("user %s is defined twice: %w", u.Username, baseimage.ErrInvalidArgument)
		}
		if other, ok := byUID[u.UID]; ok {
			return nil, fmt.Errorf("users %s and %s have the same uid %d: %w", other, u.Username, u.UID, baseimage.ErrInvalidArgument)
		}
		byName[u.Username], byUID[u.UID] = true, u.Username
	}

	var groups []Group
	for _, src := range o.GroupSrcs {
		err := lines(src, 4, func(_ int, f []string) error {
			gid, err := parseID("gid", f[2])
			if err != nil {
				return err
			}
			g := Group{Name: f[0], GID: gid}
			if f[3] != "" {
				g.Users = strings.Split(f[3], ",")
			}
			groups = append(groups, g)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	groups = append(groups, o.Groups...)
	gByName, byGID := map[string]bool{}, map[int]string{}
	for i := range groups {
		g := &groups[i]
		if err := g.normalize(); err != nil {
			return nil, err
		}
		if gByName[g.Name] {
			return nil, fmt.Errorf("group %s is defined twice: %w", g.Name, baseimage.ErrInvalidArgument)
		}
		if other, ok := byGID[g.GID]; ok {
			return nil, fmt.Errorf("groups %s and %s have the same gid %d: %w", other, g.Name, g.GID, baseimage.ErrInvalidArgument)
		}
		for _, m := range g.Users {
			if !byName[m] {
				return nil, fmt.Errorf("group %s lists user %s, which no passwd record defines: %w", g.Name, m, baseimage.ErrInvalidArgument)
			}
		}
		gByName[g.Name], byGID[g.GID] = true, g.Name
	}

	var passwd, group, shadow strings.Builder
	for _, u := range users {
		passwd.WriteString(u.line())
	}
	for _, g := range groups {
		group.WriteString(g.line())
	}
	var out []baseimage.Entry
	add := func(p string, mode int64, content string) error {
		c, err := baseimage.CleanPath(p)
		if err != nil {
			return err
		}
		out = append(out, baseimage.File(c, mode, []byte(content)))
		return nil
	}
	if err := add(o.PasswdPath, o.Mode, passwd.String()); err != nil {
		return nil, err
	}
	if err := add(o.GroupPath, o.Mode, group.String()); err != nil {
		return nil, err
	}
	if o.WriteShadow {
		kept := map[string]string{}
		for _, src := range o.ShadowSrcs {
			err := lines(src, 9, func(_ int, f []string) error {
				if !byName[f[0]] {
					return fmt.Errorf("shadow record of user %s, which no passwd record defines: %w", f[0], baseimage.ErrInvalidArgument)
				}
				kept[f[0]] = strings.Join(f, ":") + "\n"
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		for _, u := range users {
			if l, ok := kept[u.Username]; ok {
				shadow.WriteString(l)
			} else {
				fmt.Fprintf(&shadow, "%s:!*::0:99999:7:::\n", u.Username)
			}
		}
		if err := add(o.ShadowPath, o.ShadowMode, shadow.String()); err != nil {
			return nil, err
		}
	}
	if o.CreateHomes {
		// Only declared users: merged files name homes such as /usr/sbin or
		// /nonexistent that must not become directories owned by the user.
		for _, u := range users[fromFiles:] {
			if u.Home == "/" {
				continue
			}
			c, err := baseimage.CleanPath(u.Home)
			if err != nil {
				return nil, fmt.Errorf("user %s: home: %w", u.Username, err)
			}
			mode := o.HomeMode
			if u.UID == 0 {
				mode = 0o700
			}
			out = append(out, baseimage.Entry{Path: c, Type: baseimage.TypeDir, Mode: mode, UID: u.UID, GID: u.GID})
		}
	}
	return out, nil
}
