package imagestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sqlite "modernc.org/sqlite"
)

// listFixture makes images one minute apart, in this order:
//
//	id      owner vis        name  size  other
//	pub     p1    public     b     3     tags x,y; os=linux
//	priv1   p1    private    a     -     queued
//	priv2   p2    private    c     5
//	sharedA p2    shared     d     10    p1 accepted; os=linux
//	sharedP p2    shared     e     1     p1 pending, p3 accepted
//	comm2   p2    community  f     7
//	comm1   p1    community  -     2     tag x
//	hidden  p1    public     g     4     os_hidden
func listFixture(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s, _ := newStore(t)
	clock := &fakeClock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), step: time.Minute}
	s.now = clock.now
	p := func(v string) *string { return &v }
	for _, c := range []struct {
		o    ImportOptions
		data string
	}{
		{ImportOptions{ID: "pub", Owner: p("p1"), Visibility: Public, Name: "b", Tags: []string{"x", "y"}, Properties: map[string]string{"os": "linux"}}, "abc"},
		{ImportOptions{ID: "priv1", Owner: p("p1"), Visibility: Private, Name: "a"}, ""},
		{ImportOptions{ID: "priv2", Owner: p("p2"), Visibility: Private, Name: "c"}, "abcde"},
		{ImportOptions{ID: "sharedA", Owner: p("p2"), Visibility: Shared, Name: "d", Properties: map[string]string{"os": "linux"}}, "0123456789"},
		{ImportOptions{ID: "sharedP", Owner: p("p2"), Visibility: Shared, Name: "e"}, "z"},
		{ImportOptions{ID: "comm2", Owner: p("p2"), Visibility: Community, Name: "f"}, "1234567"},
		{ImportOptions{ID: "comm1", Owner: p("p1"), Visibility: Community, Tags: []string{"x"}}, "12"},
		{ImportOptions{ID: "hidden", Owner: p("p1"), Visibility: Public, Name: "g", Hidden: true}, "abcd"},
	} {
		var err error
		if c.data == "" {
			_, err = s.Create(ctx, c.o)
		} else {
			_, err = s.Import(ctx, strings.NewReader(c.data), c.o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []struct{ image, project, status string }{
		{"sharedA", "p1", "accepted"}, {"sharedP", "p1", "pending"}, {"sharedP", "p3", "accepted"},
	} {
		if err := s.AddMember(ctx, m.image, m.project, m.status); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func ids(imgs []Image) []string {
	out := []string{}
	for _, img := range imgs {
		out = append(out, img.ID)
	}
	return out
}

// The listing's SQL, case by case: who lists what, conditions, order and
// keyset pages, as Glance's image_get_all.
func TestListPage(t *testing.T) {
	s := listFixture(t)
	ctx := context.Background()
	p1 := ListOptions{Project: "p1", Limit: -1}
	with := func(f func(*ListOptions)) ListOptions {
		o := p1
		f(&o)
		return o
	}
	byName := []SortKey{{Column: "name", Desc: true}}
	for _, c := range []struct {
		name string
		o    ListOptions
		want []string
	}{
		{"default: newest first, own, public, accepted, no foreign community",
			p1, []string{"hidden", "comm1", "sharedA", "priv1", "pub"}},
		{"other project", ListOptions{Project: "p3", Limit: -1}, []string{"hidden", "sharedP", "pub"}},
		{"no project: public only", ListOptions{Limit: -1}, []string{"hidden", "pub"}},
		{"admin: all but others' community", ListOptions{Project: "p1", Admin: true, Limit: -1},
			[]string{"hidden", "comm1", "sharedP", "sharedA", "priv2", "priv1", "pub"}},
		{"admin of another project", ListOptions{Project: "p9", Admin: true, Limit: -1},
			[]string{"hidden", "sharedP", "sharedA", "priv2", "priv1", "pub"}},
		{"admin, visibility all", ListOptions{Project: "p9", Admin: true, Visibility: "all", Limit: -1},
			[]string{"hidden", "comm1", "comm2", "sharedP", "sharedA", "priv2", "priv1", "pub"}},
		{"all (CLI)", ListOptions{All: true, Limit: -1},
			[]string{"hidden", "comm1", "comm2", "sharedP", "sharedA", "priv2", "priv1", "pub"}},
		{"visibility community", with(func(o *ListOptions) { o.Visibility = Community }), []string{"comm1", "comm2"}},
		{"visibility all", with(func(o *ListOptions) { o.Visibility = "all" }), []string{"hidden", "comm1", "comm2", "sharedA", "priv1", "pub"}},
		{"member status pending", with(func(o *ListOptions) { o.MemberStatus = "pending" }), []string{"hidden", "comm1", "sharedP", "priv1", "pub"}},
		{"member status all", with(func(o *ListOptions) { o.MemberStatus = "all" }), []string{"hidden", "comm1", "sharedP", "sharedA", "priv1", "pub"}},
		{"where =", with(func(o *ListOptions) { o.Where = []Cond{{"name", "=", "b"}} }), []string{"pub"}},
		{"where in", with(func(o *ListOptions) { o.Where = []Cond{{"name", "in", []string{"a", "d", "zz"}}} }), []string{"sharedA", "priv1"}},
		{"where in nothing", with(func(o *ListOptions) { o.Where = []Cond{{"name", "in", []string{}}} }), []string{}},
		{"where size range (NULL excluded)", with(func(o *ListOptions) { o.Where = []Cond{{"size", ">=", int64(3)}, {"size", "<=", int64(4)}} }), []string{"hidden", "pub"}},
		{"where bool", with(func(o *ListOptions) { o.Where = []Cond{{"os_hidden", "=", false}} }), []string{"comm1", "sharedA", "priv1", "pub"}},
		{"where time", with(func(o *ListOptions) {
			o.Where = []Cond{{"created_at", ">", time.Date(2025, 3, 1, 10, 2, 0, 0, time.UTC)}}
		}), []string{"hidden", "comm1", "sharedA"}},
		{"where time column against a number: below any time, as in Glance", with(func(o *ListOptions) { o.Where = []Cond{{"created_at", ">=", int64(5)}} }),
			[]string{"hidden", "comm1", "sharedA", "priv1", "pub"}},
		{"where time column against a number, <=", with(func(o *ListOptions) { o.Where = []Cond{{"updated_at", "<=", float64(1e300)}} }),
			[]string{}},
		{"where text column against a number: compared as text", with(func(o *ListOptions) { o.Where = []Cond{{"name", ">=", int64(5)}} }),
			[]string{"hidden", "sharedA", "priv1", "pub"}},
		{"where integer column against text: compared as a number", with(func(o *ListOptions) { o.Where = []Cond{{"size", "=", "10"}} }),
			[]string{"sharedA"}},
		{"tags all", with(func(o *ListOptions) { o.Tags = []string{"x", "y"} }), []string{"pub"}},
		{"tag", with(func(o *ListOptions) { o.Tags = []string{"x"} }), []string{"comm1", "pub"}},
		{"property", with(func(o *ListOptions) { o.Properties = []Prop{{"os", "linux"}} }), []string{"sharedA", "pub"}},
		{"property value differs", with(func(o *ListOptions) { o.Properties = []Prop{{"os", "Linux"}} }), []string{}},
		{"reserved property never matches", with(func(o *ListOptions) { o.Properties = []Prop{{"location", "x"}} }), []string{}},
		{"by name asc: NULL first", with(func(o *ListOptions) { o.Sort = []SortKey{{Column: "name"}} }),
			[]string{"comm1", "priv1", "pub", "sharedA", "hidden"}},
		{"by name desc: NULL last", with(func(o *ListOptions) { o.Sort = byName }), []string{"hidden", "sharedA", "pub", "priv1", "comm1"}},
		{"by size, id asc", with(func(o *ListOptions) { o.Sort = []SortKey{{Column: "size"}, {Column: "id"}} }),
			[]string{"priv1", "comm1", "pub", "hidden", "sharedA"}},
		{"limit", with(func(o *ListOptions) { o.Limit = 2 }), []string{"hidden", "comm1"}},
		{"limit 0", with(func(o *ListOptions) { o.Limit = 0 }), []string{}},
		{"marker", with(func(o *ListOptions) { o.Marker = "comm1"; o.Limit = 2 }), []string{"sharedA", "priv1"}},
		{"marker by name asc", with(func(o *ListOptions) { o.Marker = "pub"; o.Sort = []SortKey{{Column: "name"}} }), []string{"sharedA", "hidden"}},
		{"marker with NULL name, asc", with(func(o *ListOptions) { o.Marker = "comm1"; o.Sort = []SortKey{{Column: "name"}} }),
			[]string{"priv1", "pub", "sharedA", "hidden"}},
		{"marker with NULL size, desc: nothing after it", with(func(o *ListOptions) { o.Marker = "priv1"; o.Sort = []SortKey{{Column: "size", Desc: true}} }),
			[]string{}},
		{"marker with NULL size, asc: the rest", with(func(o *ListOptions) { o.Marker = "priv1"; o.Sort = []SortKey{{Column: "size"}} }),
			[]string{"comm1", "pub", "hidden", "sharedA"}},
		{"marker outside the filter still bounds", with(func(o *ListOptions) { o.Marker = "priv2"; o.Visibility = "all" }),
			[]string{"priv1", "pub"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			imgs, err := s.ListPage(ctx, c.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(imgs); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// A page carries each image's properties and tags, as Get does.
func TestListPageCarriesPropertiesAndTags(t *testing.T) {
	s := listFixture(t)
	ctx := context.Background()
	imgs, err := s.ListPage(ctx, ListOptions{All: true, Limit: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range imgs {
		one, err := s.Get(ctx, img.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(img, one) {
			t.Errorf("listed %+v\n   got %+v", img, one)
		}
	}
}

// Names reach the SQL text only from the column list: anything else is
// refused, and values (property names too) are bound, never spliced.
func TestListPageRefusesUnknownNames(t *testing.T) {
	s := listFixture(t)
	ctx := context.Background()
	for _, o := range []ListOptions{
		{All: true, Where: []Cond{{"name; DROP TABLE images; --", "=", "x"}}},
		{All: true, Where: []Cond{{"name", "= 1 OR 1 =", "x"}}},
		{All: true, Where: []Cond{{"name", "in", "x"}}},
		{All: true, Where: []Cond{{"name", "=", []byte("x")}}},
		{All: true, Sort: []SortKey{{Column: "name DESC, (SELECT 1)"}}},
		{All: true, Sort: []SortKey{{Column: "protected"}}},
		{Project: "p1", MemberStatus: "bogus"},
	} {
		if _, err := s.ListPage(ctx, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", o, err)
		}
	}
	imgs, err := s.ListPage(ctx, ListOptions{All: true, Limit: -1, Properties: []Prop{{"os' OR '1'='1", "x' OR '1'='1"}},
		Tags: []string{"x') OR 1=1 --"}, Where: []Cond{{"name", "=", "b' OR '1'='1"}}})
	if err != nil || len(imgs) != 0 {
		t.Errorf("quoted values: %v, %v", ids(imgs), err)
	}
	if all, err := s.List(ctx); err != nil || len(all) != 8 {
		t.Errorf("after: %d images, %v", len(all), err)
	}
	if _, err := s.ListPage(ctx, ListOptions{All: true, Marker: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown marker: %v", err)
	}
}

// countingDriver counts the statements run through it.
type countingDriver struct {
	sqlite.Driver
	n *atomic.Int64
}

func (d *countingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingConn{c.(fullConn), d.n}, nil
}

// fullConn is what modernc's connection offers and database/sql uses.
type fullConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.QueryerContext
	driver.ExecerContext
}

type countingConn struct {
	fullConn
	n *atomic.Int64
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.n.Add(1)
	return c.fullConn.PrepareContext(ctx, q)
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.Add(1)
	return c.fullConn.QueryContext(ctx, q, args)
}

// A page is a bounded number of statements (the marker's values and the
// page), however many images, members, properties and tags there are:
// no query per image.
func TestListPageStatementsDoNotGrow(t *testing.T) {
	ctx := context.Background()
	count := func(images int) int64 {
		s, dir := newStore(t)
		for i := range images {
			id := fmt.Sprintf("img%03d", i)
			owner := "p2"
			_, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{ID: id, Owner: &owner, Visibility: Shared,
				Name: id, Tags: []string{"a", "b"}, Properties: map[string]string{"k1": "v", "k2": "w"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.AddMember(ctx, id, "p1", "accepted"); err != nil {
				t.Fatal(err)
			}
		}
		var n atomic.Int64
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, "images.db"))}
		db := sql.OpenDB(driverConnector{&countingDriver{n: &n}, u.String()})
		defer db.Close()
		s.db = db
		imgs, err := s.ListPage(ctx, ListOptions{Project: "p1", Marker: "img000", Sort: []SortKey{{Column: "name"}},
			Tags: []string{"a"}, Properties: []Prop{{"k1", "v"}}, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) != images-1 {
			t.Fatalf("%d images listed, want %d", len(imgs), images-1)
		}
		for _, img := range imgs {
			if len(img.Tags) != 2 || len(img.Properties) != 2 {
				t.Fatalf("%s: tags %v, properties %v", img.ID, img.Tags, img.Properties)
			}
		}
		return n.Load()
	}
	few, many := count(3), count(60)
	t.Logf("statements: %d for 3 images, %d for 60", few, many)
	if few != many || many > 2 {
		t.Errorf("statements: %d for 3 images, %d for 60; want the same, at most 2", few, many)
	}
}

type driverConnector struct {
	d   driver.Driver
	dsn string
}

func (c driverConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c driverConnector) Driver() driver.Driver                        { return c.d }
