package server

import "container/list"

// lru is a map that holds at most max entries: setting one more evicts the
// entry set least recently. It is not safe for concurrent use.
type lru[K comparable, V any] struct {
	max   int
	order list.List // of *lruEntry[K, V], the least recently set first
	index map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, index: make(map[K]*list.Element)}
}

// get returns the value of k, leaving its place in the order alone.
func (l *lru[K, V]) get(k K) (V, bool) {
	if e, ok := l.index[k]; ok {
		return e.Value.(*lruEntry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// set sets the value of k and makes it the entry set most recently,
// evicting the least recent one if the map is then over its bound.
func (l *lru[K, V]) set(k K, v V) {
	if e, ok := l.index[k]; ok {
		e.Value.(*lruEntry[K, V]).val = v
		l.order.MoveToBack(e)
		return
	}
	l.index[k] = l.order.PushBack(&lruEntry[K, V]{key: k, val: v})
	if l.order.Len() > l.max {
		oldest := l.order.Remove(l.order.Front()).(*lruEntry[K, V])
		delete(l.index, oldest.key)
	}
}

func (l *lru[K, V]) len() int { return l.order.Len() }

// all yields every entry, the least recently set first.
func (l *lru[K, V]) all(yield func(K, V) bool) {
	for e := l.order.Front(); e != nil; e = e.Next() {
		entry := e.Value.(*lruEntry[K, V])
		if !yield(entry.key, entry.val) {
			return
		}
	}
}
