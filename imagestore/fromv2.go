package imagestore

import (
	"encoding/json"
	"fmt"
	"time"
)

// notProperties are the keys of Glance's v2 image JSON that are neither a
// core attribute nor a custom property: links, where the data lives, and
// the multi-store list. Locations never enter an Image.
var notProperties = map[string]bool{
	"self": true, "file": true, "schema": true,
	"locations": true, "direct_url": true, "stores": true,
}

// FromV2 reads an image from Glance's v2 JSON (decoded with UseNumber,
// or with numbers as float64): the inverse of V2, except that times keep
// only the seconds Glance shows. Every key that is no core attribute and
// no link is a custom property, and must be a string as Glance's schema
// has it; anything else is an error, never a guess, because the result is
// a policy target.
func FromV2(m map[string]any) (Image, error) {
	img := Image{Properties: map[string]string{}}
	set := img.setters()
	for k, v := range m {
		if notProperties[k] {
			continue
		}
		if f, ok := set[k]; ok {
			if err := f(v); err != nil {
				return Image{}, fmt.Errorf("image JSON %s: %w", k, err)
			}
			continue
		}
		s, ok := v.(string)
		if !ok {
			return Image{}, fmt.Errorf("image JSON: property %q is %T, not a string", k, v)
		}
		img.Properties[k] = s
	}
	if img.ID == "" || img.Status == "" || img.Visibility == "" {
		return Image{}, fmt.Errorf("image JSON: id, status and visibility are required")
	}
	return img, nil
}

// setters has one parser per core attribute, by Glance's name; a test
// checks it against Core, so an attribute added there is read here too.
func (img *Image) setters() map[string]func(any) error {
	return map[string]func(any) error{
		"id":               reqString(&img.ID),
		"name":             optString(&img.Name),
		"status":           reqString(&img.Status),
		"visibility":       reqString(&img.Visibility),
		"owner":            optString(&img.Owner),
		"size":             optInt(&img.Size),
		"virtual_size":     optInt(&img.VirtualSize),
		"checksum":         optString(&img.Checksum),
		"os_hash_algo":     optString(&img.OSHashAlgo),
		"os_hash_value":    optString(&img.OSHashValue),
		"disk_format":      optString(&img.DiskFormat),
		"container_format": optString(&img.ContainerFormat),
		"min_disk":         reqInt(&img.MinDisk),
		"min_ram":          reqInt(&img.MinRAM),
		"protected":        reqBool(&img.Protected),
		"os_hidden":        reqBool(&img.Hidden),
		"tags":             stringList(&img.Tags),
		"created_at":       isoTimeOf(&img.CreatedAt),
		"updated_at":       isoTimeOf(&img.UpdatedAt),
	}
}

func reqString(p *string) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%T, not a string", v)
		}
		*p = s
		return nil
	}
}

func optString(p **string) func(any) error {
	return func(v any) error {
		if v == nil {
			*p = nil
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%T, not a string", v)
		}
		*p = &s
		return nil
	}
}

func intOf(v any) (int64, error) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			return 0, fmt.Errorf("%s is not an integer", n)
		}
		return i, nil
	case float64:
		if n != float64(int64(n)) {
			return 0, fmt.Errorf("%v is not an integer", n)
		}
		return int64(n), nil
	}
	return 0, fmt.Errorf("%T, not a number", v)
}

func reqInt(p *int64) func(any) error {
	return func(v any) error {
		i, err := intOf(v)
		*p = i
		return err
	}
}

func optInt(p **int64) func(any) error {
	return func(v any) error {
		if v == nil {
			*p = nil
			return nil
		}
		i, err := intOf(v)
		*p = &i
		return err
	}
}

func reqBool(p *bool) func(any) error {
	return func(v any) error {
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%T, not a boolean", v)
		}
		*p = b
		return nil
	}
}

func stringList(p *[]string) func(any) error {
	return func(v any) error {
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%T, not a list", v)
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("a tag is %T, not a string", e)
			}
			out = append(out, s)
		}
		*p = out
		return nil
	}
}

func isoTimeOf(p *time.Time) func(any) error {
	return func(v any) error {
		if v == nil {
			*p = time.Time{}
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%T, not a time", v)
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return fmt.Errorf("time: %w", err)
		}
		*p = t.UTC()
		return nil
	}
}
