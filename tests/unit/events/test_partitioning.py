from aiokafka.partitioner import murmur2 as reference_murmur2
from hypothesis import given
from hypothesis import strategies as st

from scorer.events import murmur2, partition_for


@given(st.binary(max_size=64))
def test_murmur2_matches_the_kafka_client_port(data):
    assert murmur2(data) & 0x7FFFFFFF == reference_murmur2(data) & 0x7FFFFFFF


@given(st.binary(min_size=1, max_size=32), st.integers(1, 64))
def test_partition_is_in_range(key, partitions):
    assert 0 <= partition_for(key, partitions) < partitions
