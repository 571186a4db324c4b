// Ported from CPython 3.11.2 Python/pyhash.c and Objects/setobject.c (PSF License); see NOTICE.

package python

import (
	"hash/fnv"
	"math"
	"math/big"
	"math/bits"
)

// CPython 3.11 hashing (Python/pyhash.c, Objects/*object.c) and the set
// table (Objects/setobject.c), so that str() of a set of numbers and tuples
// lists the elements in the same order as CPython.

const (
	hashBits     = 61
	hashModulus  = uint64(1)<<hashBits - 1
	hashInf      = 314159
	hashImag     = 1000003
	xxPrime1     = uint64(11400714785074694791)
	xxPrime2     = uint64(14029467366897019727)
	xxPrime5     = uint64(2870177450012600261)
	linearProbes = 9
	perturbShift = 5
	setMinSize   = 8
)

func unhashable(kind valKind) *pyError {
	name := "dict"
	switch kind {
	case vList:
		name = "list"
	case vSet:
		name = "set"
	}
	return &pyError{typ: "TypeError", msg: "unhashable type: '" + name + "'"}
}

// pyHash returns hash(v). det is false when CPython's value is not
// reproducible: str and bytes hashes are randomised per process and None
// and Ellipsis hash by address. The returned h is then a stand-in that is
// still consistent with pyEqual, for de-duplication.
func pyHash(v value) (h uint64, det bool, err *pyError) {
	switch v.kind {
	case vInt:
		return hashInt(v.i), true, nil
	case vBool:
		if v.t {
			return 1, true, nil
		}
		return 0, true, nil
	case vFloat:
		return hashFloat(v.f), true, nil
	case vComplex:
		c := hashFloat(v.f) + hashImag*hashFloat(v.im)
		if c == math.MaxUint64 {
			c--
		}
		return c, true, nil
	case vStr:
		f := fnv.New64a()
		f.Write(runesToWTF8(v.s))
		return f.Sum64(), false, nil
	case vBytes:
		f := fnv.New64a()
		f.Write(v.b)
		return ^f.Sum64(), false, nil
	case vNone:
		return 0x4e6f6e65, false, nil
	case vEllipsis:
		return 0x2e2e2e, false, nil
	case vTuple:
		det := true
		acc := xxPrime5
		for _, e := range v.elems {
			lane, edet, err := pyHash(e)
			if err != nil {
				return 0, false, err
			}
			det = det && edet
			acc += lane * xxPrime2
			acc = bits.RotateLeft64(acc, 31)
			acc *= xxPrime1
		}
		acc += uint64(len(v.elems)) ^ (xxPrime5 ^ 3527539)
		if acc == math.MaxUint64 {
			return 1546275796, det, nil
		}
		return acc, det, nil
	}
	return 0, false, unhashable(v.kind)
}

// hashInt is long_hash(): |x| mod 2**61-1 with x's sign; -1 becomes -2.
func hashInt(x *big.Int) uint64 {
	m := new(big.Int).Abs(x)
	m.Mod(m, new(big.Int).SetUint64(hashModulus))
	h := m.Uint64()
	if x.Sign() < 0 {
		h = -h
	}
	if h == math.MaxUint64 {
		h--
	}
	return h
}

// hashFloat is _Py_HashDouble() for non-NaN values.
func hashFloat(v float64) uint64 {
	if math.IsInf(v, 1) {
		return hashInf
	}
	if math.IsInf(v, -1) {
		return ^uint64(hashInf) + 1 // -314159
	}
	m, e := math.Frexp(v)
	sign := uint64(1)
	if m < 0 {
		sign = math.MaxUint64 // -1
		m = -m
	}
	var x uint64
	for m != 0 {
		x = ((x << 28) & hashModulus) | x>>(hashBits-28)
		m *= 268435456.0 // 2**28
		e -= 28
		y := uint64(m)
		m -= float64(y)
		x += y
		if x >= hashModulus {
			x -= hashModulus
		}
	}
	if e >= 0 {
		e %= hashBits
	} else {
		e = hashBits - 1 - ((-1 - e) % hashBits)
	}
	x = ((x << uint(e)) & hashModulus) | x>>uint(hashBits-e)
	x *= sign
	if x == math.MaxUint64 {
		x--
	}
	return x
}

// setBuilder reproduces set(iterable): elements are hashed and inserted
// one by one, equal elements keep the first one inserted.
type setBuilder struct {
	elems   []value
	hashes  []uint64
	det     bool
	buckets map[uint64][]int
}

func newSetBuilder() *setBuilder {
	return &setBuilder{det: true, buckets: map[uint64][]int{}}
}

func (s *setBuilder) add(v value) *pyError {
	h, det, err := pyHash(v)
	if err != nil {
		return err
	}
	for _, i := range s.buckets[h] {
		if pyEqual(s.elems[i], v) {
			return nil
		}
	}
	s.buckets[h] = append(s.buckets[h], len(s.elems))
	s.elems = append(s.elems, v)
	s.hashes = append(s.hashes, h)
	s.det = s.det && det
	return nil
}

func (s *setBuilder) value() value {
	if len(s.elems) <= 1 {
		return value{kind: vSet, elems: s.elems}
	}
	if !s.det {
		return value{kind: vSet, elems: s.elems, unordered: true}
	}
	order := setTableOrder(s.hashes)
	elems := make([]value, len(order))
	for i, j := range order {
		elems[i] = s.elems[j]
	}
	return value{kind: vSet, elems: elems}
}

// setTableOrder inserts distinct hashes like set_add_entry() (with
// set_table_resize() / set_insert_clean() on growth) and returns the
// insertion indexes in table order, which is the iteration order.
func setTableOrder(hashes []uint64) []int {
	table := newTable(setMinSize)
	mask := uint64(setMinSize - 1)
	fill := 0
	for idx, h := range hashes {
		insertClean(table, mask, idx, h)
		fill++
		if uint64(fill)*5 >= mask*3 {
			minUsed := fill * 4
			if fill > 50000 {
				minUsed = fill * 2
			}
			size := setMinSize
			for size <= minUsed {
				size <<= 1
			}
			grown := newTable(size)
			for _, e := range table {
				if e >= 0 {
					insertClean(grown, uint64(size-1), e, hashes[e])
				}
			}
			table, mask = grown, uint64(size-1)
		}
	}
	order := make([]int, 0, len(hashes))
	for _, e := range table {
		if e >= 0 {
			order = append(order, e)
		}
	}
	return order
}

func newTable(size int) []int {
	t := make([]int, size)
	for i := range t {
		t[i] = -1
	}
	return t
}

// insertClean puts idx in the first free slot of h's probe sequence: a
// short linear run of LINEAR_PROBES slots, then perturbed jumps. With no
// deletions and no equal keys this is also what set_add_entry() does.
func insertClean(table []int, mask uint64, idx int, h uint64) {
	perturb := h
	i := h & mask
	for {
		if table[i] < 0 {
			table[i] = idx
			return
		}
		if i+linearProbes <= mask {
			for j := uint64(1); j <= linearProbes; j++ {
				if table[i+j] < 0 {
					table[i+j] = idx
					return
				}
			}
		}
		perturb >>= perturbShift
		i = (i*5 + 1 + perturb) & mask
	}
}
