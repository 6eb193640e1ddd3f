"""The Plotkin-tree dashboard driven the way a user drives it: set widget values, read what it shows."""
import plotly.graph_objects as go
import pytest

from kolit.dashboards import TreeDashboard, TreeView


def leaf_labels(fig):
    return list(next(t for t in fig.data if t.name == "leaves").text)


def test_polar_64_7_shows_figure_c1():
    dash = TreeDashboard(codewords=200)
    dash.family.value = "polar"
    dash.n.value = 64
    dash.k.value = 7
    v = dash.view
    assert isinstance(v, TreeView) and isinstance(v.tree_fig, go.Figure) and isinstance(v.ber_fig, go.Figure)
    assert v.params == dict(code="Polar(64,7)", n=64, k=7, rate=7 / 64, d=16)
    assert leaf_labels(v.tree_fig) == ["frozen(5)", "RM(4,0)", "RM(3,0)", "RM(2,0)", "RM(2,2)"]
    assert "<b>Polar(64,7)</b>: n = 64, k = 7" in dash.summary.value and "d = 16" in dash.summary.value
    # the live SC curve: one BER and one BLER trace over the dashboard's SNR points, 200 codewords each
    assert [t.name for t in v.ber_fig.data] == ["Polar(64,7) dumer BER", "Polar(64,7) dumer BLER"]
    assert [p.snr_db for p in v.table] == [-8.0, -6.0, -4.0, -2.0]
    assert all(p.codewords == 200 for p in v.table)
    assert v.table[0].bler > v.table[-1].bler


def test_rm_order_follows_m_and_k_follows_n():
    dash = TreeDashboard(codewords=100)
    assert dash.view.params == dict(code="RM(3,1)", n=8, k=4, rate=0.5, d=4)
    dash.m.value = 8
    dash.r.value = 2
    assert dash.view.params == dict(code="RM(8,2)", n=256, k=37, rate=37 / 256, d=64)
    assert leaf_labels(dash.view.tree_fig)[-1] == "RM(2,2)"
    dash.r.value = 8
    dash.m.value = 5  # r is clamped to 5
    assert (dash.r.value, dash.view.params["code"], dash.view.params["d"]) == (5, "RM(5,5)", 1)
    dash.family.value = "polar"
    dash.n.value = 128
    dash.k.value = 100
    dash.n.value = 16  # k is clamped to 16
    assert (dash.k.value, dash.view.params["n"], dash.view.params["k"]) == (16, 16, 16)
    assert dash.rm_box.layout.display == "none" and dash.polar_box.layout.display is None


def test_decoder_choice_and_equal_seeds():
    a = TreeDashboard(family="polar", n=32, k=6, codewords=300, seed=3)
    a.decoder.value = "scl:8"
    b = TreeDashboard(family="polar", n=32, k=6, decoder="scl:8", codewords=300, seed=3)
    assert a.view.table.to_records() == b.view.table.to_records()
    assert a.view.ber_fig.data[0].name == "Polar(32,6) scl:8 BER"


def test_no_live_simulation_and_bad_family():
    dash = TreeDashboard(family="rm", m=6, r=1, live=False)
    assert dash.view.ber_fig is None and dash.view.table is None
    assert dash.view.params["d"] == 32
    with pytest.raises(ValueError, match="family must be 'rm' or 'polar'"):
        TreeDashboard(family="ldpc")
