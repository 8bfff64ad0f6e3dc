"""Reranking (NIM ``/v1/ranking``, Cohere/Jina ``/v1/rerank``, ``/v2/rerank`` and ``/rerank``, Hugging
Face TEI's ``/rerank``) and Solido RAG (``/rag/api/prompt``)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

QUERY = "how does GPU memory bandwidth limit inference throughput"
PASSAGES = [
    "The recipe needs two eggs and a cup of flour.",
    "GPU memory bandwidth often limits LLM inference throughput more than raw compute.",
    "Inference servers batch requests to raise throughput.",
    "Bandwidth of the GPU memory matters.",
]


def test_nim_ranking_orders_by_overlap(http):
    r = http.post(
        "/v1/ranking",
        json={
            "model": "nvidia/nv-rerankqa-mistral-4b-v3",
            "query": {"text": QUERY},
            "passages": [{"text": p} for p in PASSAGES],
            "truncate": "END",
        },
    )
    assert r.status_code == 200
    rankings = r.json()["rankings"]
    assert [x["index"] for x in rankings][:1] == [1] and rankings[-1]["index"] == 0
    logits = [x["logit"] for x in rankings]
    assert logits == sorted(logits, reverse=True) and len(rankings) == 4
    again = http.post(
        "/v1/ranking",
        json={
            "model": "m",
            "query": {"text": QUERY},
            "passages": [{"text": p} for p in PASSAGES],
            "top_n": 2,
        },
    ).json()
    assert again["rankings"] == rankings[:2]


def test_cohere_rerank_scores_and_documents(http):
    r = http.post(
        "/v1/rerank",
        json={
            "model": "rerank-v3.5",
            "query": QUERY,
            "top_n": 3,
            "return_documents": True,
            "documents": [PASSAGES[0], {"text": PASSAGES[1]}, *PASSAGES[2:]],
        },
    ).json()
    results = r["results"]
    assert len(results) == 3 and results[0]["index"] == 1
    assert results[0]["document"] == {"text": PASSAGES[1]}
    scores = [x["relevance_score"] for x in results]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    assert r["usage"]["total_tokens"] > 0
    plain = http.post("/v1/rerank", json={"query": QUERY, "documents": PASSAGES}).json()["results"]
    assert len(plain) == 4 and "document" not in plain[0] and plain[-1]["index"] == 0


@pytest.mark.parametrize("path", ["/v2/rerank", "/rerank"])
def test_cohere_and_vllm_paths_answer_as_v1(http, path):
    body = {"model": "rerank-v3.5", "query": QUERY, "top_n": 2, "documents": PASSAGES}
    expected = http.post("/v1/rerank", json=body).json()["results"]
    assert http.post(path, json=body).json()["results"] == expected


def test_tei_rerank_answers_teis_list(http):
    """AIPerf's ``hf-tei-rankings`` body: ``texts``; the answer is a bare list, most relevant first."""
    body = {"query": QUERY, "texts": PASSAGES, "return_text": True}
    ranks = http.post("/rerank", json=body).json()
    assert [r["index"] for r in ranks][:1] == [1] and len(ranks) == 4
    assert ranks[0]["text"] == PASSAGES[1]
    scores = [r["score"] for r in ranks]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    cohere = http.post("/v1/rerank", json={"query": QUERY, "documents": PASSAGES}).json()["results"]
    assert [r["index"] for r in ranks] == [r["index"] for r in cohere]
    raw = http.post("/rerank", json={"query": QUERY, "texts": PASSAGES, "raw_scores": True}).json()
    assert "text" not in raw[0] and any(r["score"] < 0 or r["score"] > 1 for r in raw)


@pytest.mark.parametrize(
    "path, body, param",
    [
        ("/v1/ranking", {"model": "m", "query": {"text": "q"}, "passages": []}, "passages"),
        ("/v1/ranking", {"model": "m", "query": "q", "passages": [{"text": "p"}]}, "query"),
        ("/v1/ranking", {"model": "m", "query": {"text": " "}, "passages": [{"text": "p"}]}, "query.text"),
        (
            "/v1/ranking",
            {"model": "m", "query": {"text": "q"}, "passages": [{"text": "p"}], "truncate": "START"},
            "truncate",
        ),
        (
            "/v1/ranking",
            {
                "model": "m",
                "query": {"text": "q"},
                "passages": [{"text": "p"}, {"text": "word " * 600}],
                "truncate": "NONE",
            },
            "passages[1]",
        ),
        ("/v1/ranking", {"query": {"text": "q"}, "passages": [{"text": "p"}]}, "model"),
        ("/v1/rerank", {"query": "q", "documents": []}, "documents"),
        ("/v1/rerank", {"query": "", "documents": ["a"]}, "query"),
        ("/v1/rerank", {"query": "q", "documents": [1]}, "documents[0]"),
        ("/v1/rerank", {"query": "q", "documents": ["a"], "top_n": 0}, "top_n"),
        ("/v2/rerank", {"query": "q"}, "documents"),
        ("/rerank", {"query": "q"}, "documents"),
        ("/rerank", {"query": "q", "texts": []}, "texts"),
        ("/rerank", {"query": "q", "texts": [1]}, "texts[0]"),
        ("/rerank", {"query": "", "texts": ["a"]}, "query"),
        ("/rerank", {"query": "q", "texts": ["a"], "truncation_direction": "Up"}, "truncation_direction"),
        ("/rag/api/prompt", {"query": ""}, "query"),
        ("/rag/api/prompt", {"query": "q", "top_k": 21}, "top_k"),
        ("/rag/api/prompt", {"query": []}, "query"),
        ("/rag/api/prompt", {"query": "q", "stream": True}, "stream"),
        ("/rag/api/prompt", {"top_k": 2}, "query"),
    ],
)
def test_bad_requests(http, path, body, param):
    r = http.post(path, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


def test_rag_prompt_returns_content_and_scored_docs(http):
    body = {
        "query": ["PVTMC verification", "corner analysis"],
        "filters": {"family": "Solido", "tool": "SDE"},
        "inference_model": "meta-llama/Llama-3.1-70B-Instruct",
        "top_k": 3,
    }
    r = http.post("/rag/api/prompt", json=body).json()
    assert r["content"] and r["usage"]["completion_tokens"] > 0
    docs = r["retrieved_docs"]
    assert len(docs) == 3
    assert all(d["content"].startswith("PVTMC verification corner analysis") for d in docs)
    assert all(d["metadata"]["family"] == "Solido" and d["metadata"]["tool"] == "SDE" for d in docs)
    scores = [d["score"] for d in docs]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert http.post("/rag/api/prompt", json=body).json() == r
    assert len(http.post("/rag/api/prompt", json={"query": "x"}).json()["retrieved_docs"]) == 5
