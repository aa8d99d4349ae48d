"""Go's slices.SortFunc (pattern-defeating quicksort), ported exactly.

The reader sorts CPU samples by time and, on its slow path, the frontier of batch cursors.
Go's sort is not stable, so with equal keys the resulting order is the algorithm's; to emit
events in exactly Go's order we use the same algorithm (go/src/slices/zsortanyfunc.go).
"""
from __future__ import annotations

_MASK64 = 0xFFFFFFFFFFFFFFFF


def sort_func(data: list, cmp, key=None) -> None:
    """slices.SortFunc(data, cmp). ``key``, if given, must order exactly like ``cmp``; it
    enables fast paths that give the same result (sorted input; all keys distinct)."""
    n = len(data)
    if n < 2:
        return
    if key is not None:
        keys = [key(x) for x in data]
        if all(keys[i] <= keys[i + 1] for i in range(n - 1)):
            # pdqsort leaves sorted input untouched (insertion sort, or the partial
            # insertion sort finds it sorted on the first pass).
            return
        if len(set(keys)) == n:
            data.sort(key=key)
            return
    _pdqsort(data, 0, n, n.bit_length(), cmp)


def _insertion_sort(data, a, b, cmp):
    for i in range(a + 1, b):
        j = i
        while j > a and cmp(data[j], data[j - 1]) < 0:
            data[j], data[j - 1] = data[j - 1], data[j]
            j -= 1


def _sift_down(data, lo, hi, first, cmp):
    root = lo
    while True:
        child = 2 * root + 1
        if child >= hi:
            break
        if child + 1 < hi and cmp(data[first + child], data[first + child + 1]) < 0:
            child += 1
        if not cmp(data[first + root], data[first + child]) < 0:
            return
        data[first + root], data[first + child] = data[first + child], data[first + root]
        root = child


def _heap_sort(data, a, b, cmp):
    first = a
    lo = 0
    hi = b - a
    for i in range((hi - 1) // 2, -1, -1):
        _sift_down(data, i, hi, first, cmp)
    for i in range(hi - 1, -1, -1):
        data[first], data[first + i] = data[first + i], data[first]
        _sift_down(data, lo, i, first, cmp)


_UNKNOWN, _INCREASING, _DECREASING = 0, 1, 2


def _pdqsort(data, a, b, limit, cmp):
    max_insertion = 12
    was_balanced = True
    was_partitioned = True
    while True:
        length = b - a
        if length <= max_insertion:
            _insertion_sort(data, a, b, cmp)
            return
        if limit == 0:
            _heap_sort(data, a, b, cmp)
            return
        if not was_balanced:
            _break_patterns(data, a, b)
            limit -= 1
        pivot, hint = _choose_pivot(data, a, b, cmp)
        if hint == _DECREASING:
            _reverse_range(data, a, b)
            pivot = (b - 1) - (pivot - a)
            hint = _INCREASING
        if was_balanced and was_partitioned and hint == _INCREASING:
            if _partial_insertion_sort(data, a, b, cmp):
                return
        if a > 0 and not cmp(data[a - 1], data[pivot]) < 0:
            mid = _partition_equal(data, a, b, pivot, cmp)
            a = mid
            continue
        mid, already = _partition(data, a, b, pivot, cmp)
        was_partitioned = already
        left_len, right_len = mid - a, b - mid
        balance_threshold = length // 8
        if left_len < right_len:
            was_balanced = left_len >= balance_threshold
            _pdqsort(data, a, mid, limit, cmp)
            a = mid + 1
        else:
            was_balanced = right_len >= balance_threshold
            _pdqsort(data, mid + 1, b, limit, cmp)
            b = mid


def _partition(data, a, b, pivot, cmp):
    data[a], data[pivot] = data[pivot], data[a]
    i, j = a + 1, b - 1
    while i <= j and cmp(data[i], data[a]) < 0:
        i += 1
    while i <= j and not cmp(data[j], data[a]) < 0:
        j -= 1
    if i > j:
        data[j], data[a] = data[a], data[j]
        return j, True
    data[i], data[j] = data[j], data[i]
    i += 1
    j -= 1
    while True:
        while i <= j and cmp(data[i], data[a]) < 0:
            i += 1
        while i <= j and not cmp(data[j], data[a]) < 0:
            j -= 1
        if i > j:
            break
        data[i], data[j] = data[j], data[i]
        i += 1
        j -= 1
    data[j], data[a] = data[a], data[j]
    return j, False


def _partition_equal(data, a, b, pivot, cmp):
    data[a], data[pivot] = data[pivot], data[a]
    i, j = a + 1, b - 1
    while True:
        while i <= j and not cmp(data[a], data[i]) < 0:
            i += 1
        while i <= j and cmp(data[a], data[j]) < 0:
            j -= 1
        if i > j:
            break
        data[i], data[j] = data[j], data[i]
        i += 1
        j -= 1
    return i


def _partial_insertion_sort(data, a, b, cmp):
    max_steps = 5
    shortest_shifting = 50
    i = a + 1
    for _ in range(max_steps):
        while i < b and not cmp(data[i], data[i - 1]) < 0:
            i += 1
        if i == b:
            return True
        if b - a < shortest_shifting:
            return False
        data[i], data[i - 1] = data[i - 1], data[i]
        if i - a >= 2:
            j = i - 1
            while j >= 1:
                if not cmp(data[j], data[j - 1]) < 0:
                    break
                data[j], data[j - 1] = data[j - 1], data[j]
                j -= 1
        if b - i >= 2:
            j = i + 1
            while j < b:
                if not cmp(data[j], data[j - 1]) < 0:
                    break
                data[j], data[j - 1] = data[j - 1], data[j]
                j += 1
    return False


def _break_patterns(data, a, b):
    length = b - a
    if length >= 8:
        r = length  # xorshift(length)
        modulus = 1 << length.bit_length()
        idx = a + (length // 4) * 2 - 1
        while idx <= a + (length // 4) * 2 + 1:
            r ^= (r << 13) & _MASK64
            r ^= r >> 7
            r ^= (r << 17) & _MASK64
            other = r & (modulus - 1)
            if other >= length:
                other -= length
            data[idx], data[a + other] = data[a + other], data[idx]
            idx += 1


def _choose_pivot(data, a, b, cmp):
    shortest_ninther = 50
    max_swaps = 4 * 3
    ln = b - a
    swaps = [0]
    i = a + ln // 4 * 1
    j = a + ln // 4 * 2
    k = a + ln // 4 * 3
    if ln >= 8:
        if ln >= shortest_ninther:
            i = _median(data, i - 1, i, i + 1, swaps, cmp)
            j = _median(data, j - 1, j, j + 1, swaps, cmp)
            k = _median(data, k - 1, k, k + 1, swaps, cmp)
        j = _median(data, i, j, k, swaps, cmp)
    if swaps[0] == 0:
        return j, _INCREASING
    if swaps[0] == max_swaps:
        return j, _DECREASING
    return j, _UNKNOWN


def _order2(data, a, b, swaps, cmp):
    if cmp(data[b], data[a]) < 0:
        swaps[0] += 1
        return b, a
    return a, b


def _median(data, a, b, c, swaps, cmp):
    a, b = _order2(data, a, b, swaps, cmp)
    b, c = _order2(data, b, c, swaps, cmp)
    a, b = _order2(data, a, b, swaps, cmp)
    return b


def _reverse_range(data, a, b):
    i, j = a, b - 1
    while i < j:
        data[i], data[j] = data[j], data[i]
        i += 1
        j -= 1
