-- Vidur compute profiles (profile = mlp): one row per GPU, model, tensor-parallel degree,
-- batch token count and operator, with the median measured time in seconds. Repeated
-- configurations (the same num_tokens profiled twice) are averaged.
SELECT
    sku AS gpu,
    regexp_replace(regexp_replace(subject, '^[^/]+/', ''), '/tp[0-9]+$', '') AS model,
    subject,
    benchmark AS operator,
    CAST(extra ->> 'num_tokens' AS BIGINT) AS num_tokens,
    CAST(extra ->> 'num_tensor_parallel_workers' AS BIGINT) AS tensor_parallel,
    CAST(extra ->> 'n_head' AS BIGINT) AS n_head,
    CAST(extra ->> 'n_kv_head' AS BIGINT) AS n_kv_head,
    CAST(extra ->> 'n_embd' AS BIGINT) AS n_embd,
    CAST(extra ->> 'n_expanded_embd' AS BIGINT) AS n_expanded_embd,
    CAST(extra ->> 'vocab_size' AS BIGINT) AS vocab_size,
    CAST(extra ->> 'use_gated_mlp' AS BOOLEAN) AS use_gated_mlp,
    avg(value) AS time_s,
    count(*) AS repeats
FROM measurements
WHERE trace = $trace
  AND metric = 'median'
  AND extra ->> 'profile' = 'mlp'
GROUP BY ALL
ORDER BY model, gpu, tensor_parallel, num_tokens, operator
