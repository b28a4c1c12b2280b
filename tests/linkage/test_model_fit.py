"""Every full run fits the shipped model to its population: m by EM from the shipped values,
with a fall-back per comparison when EM cannot be trusted, and the prior from the data."""

import contextlib
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from splink.internals.duckdb.database_api import DuckDBAPI

from linkage.features import prepare_sources
from linkage.model.report import write_model_report
from linkage.model.store import load_model
from linkage.model.training import MIN_EM_PAIRS, ModelFit, adapt_to_population, new_linker
from tests.linkage.test_identifier_free import write_population


def _fit(sources: Path) -> tuple[ModelFit, dict, dict]:
    shipped = load_model()
    assert shipped is not None
    features = prepare_sources(sources).features
    with contextlib.closing(duckdb.connect()) as con:
        con.register("features_df", features)
        con.execute("CREATE TABLE record_features AS SELECT * FROM features_df")
        linker = new_linker(DuckDBAPI(connection=con), "record_features", shipped)
        fit = adapt_to_population(linker)
        fitted = linker.misc.save_model_to_json()
    return fit, shipped, fitted


def _m(model: dict, column: str) -> list[float]:
    comparison = next(c for c in model["comparisons"] if c["output_column_name"] == column)
    return [level["m_probability"] for level in comparison["comparison_levels"]
            if not level.get("is_null_level")]


@pytest.fixture(scope="module")
def fitted_population(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelFit, dict, dict]:
    directory = tmp_path_factory.mktemp("fit")
    write_population(directory / "sources", seed=11, people_count=1500)
    return _fit(directory / "sources")


def test_a_population_with_enough_pairs_gets_its_own_m_values(
    fitted_population: tuple[ModelFit, dict, dict],
) -> None:
    fit, shipped, fitted = fitted_population
    assert "given_name" in fit.learnt and "address" in fit.learnt, fit
    assert _m(fitted, "given_name") != pytest.approx(_m(shipped, "given_name"))
    for column in fit.learnt:
        assert sum(_m(fitted, column)) == pytest.approx(1.0)
    # Identifiers' m values are fixed in the model and never learnt.
    assert _m(fitted, "nhs_number") == _m(shipped, "nhs_number")
    assert "nhs_number" not in fit.learnt and "nhs_number" not in fit.kept_shipped


def test_the_prior_comes_from_the_data_with_a_recall_the_fitted_m_implies(
    fitted_population: tuple[ModelFit, dict, dict],
) -> None:
    fit, _, fitted = fitted_population
    assert fit.prior_basis.startswith("exact name and date of birth (recall ")
    recall = float(fit.prior_basis.split("recall ")[1].rstrip(")"))
    # Half the duplicates carry a typo in a name, so exact agreement finds well under all pairs.
    assert 0.05 <= recall < 0.9
    assert fitted["probability_two_random_records_match"] == pytest.approx(fit.prior)


def test_a_session_with_too_few_pairs_is_set_aside_and_its_comparisons_keep_shipped_m(
    tmp_path: Path,
) -> None:
    write_population(tmp_path / "sources", seed=3, people_count=150)
    fit, shipped, fitted = _fit(tmp_path / "sources")
    assert all(s.pairs < MIN_EM_PAIRS for s in fit.sessions), fit.sessions
    assert all(s.rejected.startswith(f"{s.pairs} pairs") for s in fit.sessions)
    assert fit.learnt == []
    assert fit.kept_shipped["given_name"] == "no trusted EM session trained it"
    assert _m(fitted, "given_name") == pytest.approx(_m(shipped, "given_name"))


def test_the_model_report_shows_learnt_beside_shipped_values(
    fitted_population: tuple[ModelFit, dict, dict], tmp_path: Path,
) -> None:
    fit, shipped, fitted = fitted_population
    path = tmp_path / "model.html"
    write_model_report(fitted, path, fit=fit.as_dict())
    page = path.read_text()
    assert "<th>m shipped</th>" in page and "m learnt" in page
    shipped_exact = _m(shipped, "given_name")[0]
    assert f"<td>{shipped_exact:.4g}</td>" in page
    assert "Fitted to this population" in page and fit.prior_basis in page


def test_a_link_run_reports_its_fit_in_the_summary(tmp_path: Path) -> None:
    from linkage.pipeline import link_sources

    write_population(tmp_path / "sources", seed=5, people_count=1200)
    summary = link_sources(tmp_path / "sources", tmp_path / "index.duckdb")
    fit = summary.model_fit
    assert fit["prior_basis"] and fit["sessions"], fit
    assert set(fit["learnt"]) | set(fit["kept_shipped"]) >= {"given_name", "family_name", "dob"}
    assert (tmp_path / "index.model.html").exists()
    assert pd.notna(fit["prior"])


def _dob_comparison(m_identical: float, m_different: float) -> object:
    from linkage.model.comparisons import model_comparisons

    comparison = next(c.get_comparison("duckdb") for c in model_comparisons()
                      if c.get_comparison("duckdb").output_column_name == "dob")
    levels = comparison._comparison_levels_excluding_null
    rest = (1 - m_identical - m_different) / (len(levels) - 2)
    for level in levels:
        level.m_probability = rest
    levels[0].m_probability, levels[-1].m_probability = m_identical, m_different
    return comparison


def test_an_em_class_whose_matches_mostly_differ_on_the_date_of_birth_is_households() -> None:
    from linkage.model.training import _not_persons

    # What EM blocked on the postcode learnt on the independent generator's children (seed 12):
    # a "match" class of siblings, two in three of them with another date of birth.
    assert "households, not persons" in _not_persons([_dob_comparison(0.33, 0.66)])
    # What it learnt on FEBRL 3: one person's copies, mostly one date of birth.
    assert _not_persons([_dob_comparison(0.92, 0.06)]) == ""


def test_em_never_learns_the_sex_comparison_twins_would_teach_it(tmp_path: Path) -> None:
    from linkage.model.training import KEEP_SHIPPED, _apply_learnt_m, _m_values

    # What EM blocked on date of birth and surname learnt on our own population (seed 7): its
    # "matches" held opposite-sex twins, so "sex different" came out eight times the shipped m.
    write_population(tmp_path / "sources", seed=3, people_count=150)
    features = prepare_sources(tmp_path / "sources").features
    with contextlib.closing(duckdb.connect()) as con:
        con.register("features_df", features)
        con.execute("CREATE TABLE record_features AS SELECT * FROM features_df")
        linker = new_linker(DuckDBAPI(connection=con), "record_features", load_model())
        shipped = _m_values(linker)
        twins_taught = {"sex identical": 0.9886, "sex different": 0.0114}
        given = dict(shipped["given_name"])
        given_learnt = {label: m * (2.0 if n == 0 else 1.0) for n, (label, m)
                        in enumerate(given.items())}
        kept = _apply_learnt_m(linker, shipped, {"sex": [twins_taught],
                                                 "given_name": [given_learnt]})
        fitted = linker.misc.save_model_to_json()
    assert kept["sex"] == KEEP_SHIPPED["sex"]
    assert _m(fitted, "sex") == pytest.approx([m for _, m in shipped["sex"]])
    # Beside it, a comparison EM may learn takes the learnt (renormalised) values.
    assert "given_name" not in kept
    assert _m(fitted, "given_name") != pytest.approx([m for _, m in shipped["given_name"]])
