package bundles

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	orascontent "oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
)

// OCIScheme prefixes a bundle in an OCI registry: oci://HOST/REPO:TAG (or
// @DIGEST).
const OCIScheme = "oci://"

// The media types of a bundle in a registry, as OPA's OCI downloader
// reads them (and "opa build" users push them): the bundle is the one
// layer of type ociLayerType, the config an empty JSON object.
const (
	ociLayerType  = ocispec.MediaTypeImageLayerGzip
	ociConfigType = ocispec.MediaTypeImageConfig
	// dockerManifestType has the OCI image manifest's shape; OPA reads it too.
	dockerManifestType = "application/vnd.docker.distribution.manifest.v2+json"
)

// ociRepository opens the repository of an oci:// reference. A registry
// on a loopback address is spoken to in plain HTTP (as docker and OPA's
// tests do), every other over HTTPS. Credentials are docker's (and oras'):
// $DOCKER_CONFIG/config.json or ~/.docker/config.json, "auths" or a
// credential helper; without any, access is anonymous.
func ociRepository(ref string, client *http.Client) (*remote.Repository, string, error) {
	name := strings.TrimPrefix(ref, OCIScheme)
	repo, err := remote.NewRepository(name)
	if err != nil {
		return nil, "", fmt.Errorf("bundle reference %s: %w", ref, err)
	}
	if repo.Reference.Reference == "" {
		return nil, "", fmt.Errorf("bundle reference %s: no tag or digest", ref)
	}
	host := repo.Reference.Registry
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		repo.PlainHTTP = true
	}
	if client == nil {
		client = defaultClient()
	}
	store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("bundle reference %s: reading docker's credentials: %w", ref, err)
	}
	repo.Client = &auth.Client{Client: client, Cache: auth.NewCache(), Credential: credentials.Credential(store)}
	return repo, repo.Reference.Reference, nil
}

// fetchOCI reads the bundle that ref names. Its manifest's digest is the
// source's ETag: the bundle is not fetched again while the tag names the
// same manifest.
func fetchOCI(ctx context.Context, client *http.Client, ref, etag string) (body []byte, newTag string, notModified bool, err error) {
	repo, tag, err := ociRepository(ref, client)
	if err != nil {
		return nil, "", false, err
	}
	desc, err := repo.Resolve(ctx, tag)
	if err != nil {
		return nil, "", false, fmt.Errorf("fetching bundle %s: %w", ref, err)
	}
	if etag != "" && desc.Digest.String() == etag {
		return nil, "", true, nil
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest && desc.MediaType != dockerManifestType {
		return nil, "", false, fmt.Errorf("fetching bundle %s: the reference is a %s, not an image manifest holding a bundle layer", ref, desc.MediaType)
	}
	if desc.Size > 4<<20 {
		return nil, "", false, fmt.Errorf("fetching bundle %s: a manifest of %d bytes", ref, desc.Size)
	}
	raw, err := orascontent.FetchAll(ctx, repo, desc) // verifies the digest
	if err != nil {
		return nil, "", false, fmt.Errorf("fetching bundle %s: %w", ref, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "", false, fmt.Errorf("fetching bundle %s: manifest: %w", ref, err)
	}
	var layer *ocispec.Descriptor
	for i, l := range m.Layers {
		if l.MediaType == ociLayerType {
			if layer != nil {
				return nil, "", false, fmt.Errorf("fetching bundle %s: more than one %s layer", ref, ociLayerType)
			}
			layer = &m.Layers[i]
		}
	}
	if layer == nil {
		return nil, "", false, fmt.Errorf("fetching bundle %s: no %s layer in the manifest", ref, ociLayerType)
	}
	if layer.Size > maxBundleBytes {
		return nil, "", false, fmt.Errorf("fetching bundle %s: larger than 256 MiB", ref)
	}
	body, err = orascontent.FetchAll(ctx, repo, *layer) // verifies size and digest
	if err != nil {
		return nil, "", false, fmt.Errorf("fetching bundle %s: %w", ref, err)
	}
	return body, desc.Digest.String(), false, nil
}

// Push uploads a built bundle (the bytes of its .tar.gz) to the registry
// at ref (oci://HOST/REPO:TAG) as OPA's OCI downloader reads one: an
// image manifest with an empty JSON config and the bundle as its one
// layer, tagged TAG. The bytes are checked to be a bundle first (not
// verified: a signed bundle carries its signatures inside). It returns
// the manifest's digest.
func Push(ctx context.Context, client *http.Client, bundleBytes []byte, ref string) (string, error) {
	if _, err := readTarGz(bytes.NewReader(bundleBytes), nil); err != nil {
		return "", fmt.Errorf("pushing %s: not a bundle: %w", ref, err)
	}
	repo, tag, err := ociRepository(ref, client)
	if err != nil {
		return "", err
	}
	if strings.Contains(tag, ":") {
		return "", fmt.Errorf("pushing %s: want a tag to push to, not a digest", ref)
	}
	push := func(mediaType string, data []byte) (ocispec.Descriptor, error) {
		d := orascontent.NewDescriptorFromBytes(mediaType, data)
		if err := repo.Push(ctx, d, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return d, fmt.Errorf("pushing %s: %w", ref, err)
		}
		return d, nil
	}
	cfg, err := push(ociConfigType, []byte("{}"))
	if err != nil {
		return "", err
	}
	layer, err := push(ociLayerType, bundleBytes)
	if err != nil {
		return "", err
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}}
	m.SchemaVersion = 2
	raw, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	md := orascontent.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, raw)
	if err := repo.PushReference(ctx, md, bytes.NewReader(raw), tag); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	return md.Digest.String(), nil
}
