package oslo

// Components finds the strongly connected components of the resolved
// rule: reference graph (Tarjan): each rule's component number, and which
// rules sit on a cycle.
func (p *Policy) Components() (map[string]int, map[string]bool) {
	edges := map[string][]string{}
	for _, r := range p.Rules {
		Walk(r.Check, func(c Check) {
			if rc, ok := c.(*RuleCheck); ok {
				if t, ok := p.Resolve(rc.Name); ok {
					edges[r.Name] = append(edges[r.Name], t)
				}
			}
		})
	}
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	scc := map[string]int{}
	cyclic := map[string]bool{}
	next, comp := 0, 0
	var visit func(v string)
	visit = func(v string) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range edges[v] {
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var members []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				scc[w] = comp
				members = append(members, w)
				if w == v {
					break
				}
			}
			if len(members) > 1 {
				for _, m := range members {
					cyclic[m] = true
				}
			}
			comp++
		}
	}
	for _, r := range p.Rules {
		if _, seen := index[r.Name]; !seen {
			visit(r.Name)
		}
	}
	for v, ws := range edges {
		for _, w := range ws {
			if v == w {
				cyclic[v] = true
			}
		}
	}
	return scc, cyclic
}
