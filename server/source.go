package server

import (
	"context"
	"errors"
	"net/http"
	"os"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/imagestore"
)

// Source is where the image routes' images and their data come from: the
// embedded store (Config.Images) or a real Glance (NewUpstreamSource). A
// reader of Glance's own database and stores would be a third: it would
// find images as the local store does and open their data as files.
type Source interface {
	// Find returns image id as the caller may see it, whole: every custom
	// property, whether the caller may read it or not, because the policy
	// target is its Target. An image that does not exist or that the
	// caller may not see wraps imagestore.ErrNotFound; a source that
	// cannot answer wraps ErrSourceUnavailable (never a guess);
	// ErrSourceForbidden and auth.ErrUnauthenticated are the source
	// refusing the caller.
	Find(ctx context.Context, caller Caller, id string) (Found, error)
	// Open returns the data of img, which policy allowed the caller to
	// download; want says which part. An image without data wraps
	// imagestore.ErrNoData.
	Open(ctx context.Context, caller Caller, img imagestore.Image, want DataRequest) (Data, error)
}

// Found is an image a Source found for a caller.
type Found struct {
	// Image is the whole image: its Target is the policy target.
	Image imagestore.Image
	// Shown, when not nil, are the custom properties the source itself
	// shows the caller (an upstream Glance's own filtering): the server
	// shows no property outside it, whatever the bundle's protections
	// allow.
	Shown map[string]string
}

// Errors a Source's answers wrap.
var (
	// ErrSourceUnavailable: the source could not answer (503).
	ErrSourceUnavailable = errors.New("image source unavailable")
	// ErrSourceForbidden: the source itself refused the caller (403).
	ErrSourceForbidden = errors.New("image source refused the caller")
)

// Caller is who a Source answers for.
type Caller struct {
	Identity *auth.Identity
	IsAdmin  bool
	// Token is the caller's X-Auth-Token, which an upstream source sends
	// upstream for the caller's own reads; never logged.
	Token string
	// RequestID is the request's X-Openstack-Request-Id.
	RequestID string
}

// DataRequest is which part of an image's data a download wants.
type DataRequest struct {
	// Header holds the request's Range and Content-Range headers; nil
	// for the whole image (v1).
	Header http.Header
}

// Data is an image's data: either File, the whole data, which the server
// ranges and sends itself, or Answer, a download answer already made
// upstream (status, headers, body, ranged there), which the server
// relays. The server closes whichever is set.
type Data struct {
	File   *os.File
	Answer *http.Response
	// Bytes, when File and Answer are nil, is the whole data in memory
	// (a small image); the server must not change it.
	Bytes []byte
}

// smallData is an Images that keeps small images' data in memory
// (*imagestore.Store): no open, stat, read and close per download.
type smallData interface {
	SmallData(ctx context.Context, img imagestore.Image) ([]byte, error)
}

// localSource is the embedded store as a Source.
type localSource struct{ images Images }

func (l localSource) Find(ctx context.Context, caller Caller, id string) (Found, error) {
	project := ""
	if caller.Identity != nil {
		project = caller.Identity.ProjectID
	}
	img, err := findInStore(ctx, l.images, id, project, caller.IsAdmin)
	return Found{Image: img}, err
}

func (l localSource) Open(ctx context.Context, _ Caller, img imagestore.Image, _ DataRequest) (Data, error) {
	if sd, ok := l.images.(smallData); ok && img.Size != nil && *img.Size <= imagestore.MaxSmallData {
		b, err := sd.SmallData(ctx, img)
		return Data{Bytes: b}, err
	}
	f, err := l.images.OpenData(ctx, img)
	return Data{File: f}, err
}
