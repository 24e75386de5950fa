"""Operations: worker heartbeats and the platform's numbers (queue, throughput, errors,
durations) that the operations page and /v1/ops/summary show."""
