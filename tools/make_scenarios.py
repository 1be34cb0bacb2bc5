#!/usr/bin/env python3
"""Writes the proposal, counterfactual and stress scenarios of scenarios/ from the forum and treaty
names of scenarios/status_quo.toml. Each file extends the status quo and changes only what its
passage asks for. Run from the repository root; the output is committed."""
import re

SQ = open("scenarios/status_quo.toml").read()
FORUMS = re.findall(r'^\[forums\.("?[\w-]+"?)\]', SQ, re.M)
TREATIES = re.findall(r'^\[treaties\.(\w+)\]', SQ, re.M)
RCPS = [f for f in FORUMS if f not in ("GFMD", "HLD")]
START = 2017  # proposals take effect after the seed's writing (2016)


def header(name, description, passage, mapping):
    return (
        f'# {description}\nextends = "status_quo.toml"\nname = "{name}"\n'
        f'description = "{description}"\npassage = """\n{passage.strip()}\n"""\n'
        + "".join(f"# {line}\n" for line in mapping.strip().splitlines())
        + "\n"
    )


def timeline(forums, year, **changes):
    out = ""
    for f in forums:
        out += f"[[forums.{f}.timeline]]\nyear = {year}\n"
        out += "".join(f"{k} = {v}\n" for k, v in changes.items())
        out += "\n"
    return out


def un_platform():
    return f'''[forums.UN_Platform]
description = "Standing platform on the human rights of migrants inside the UN, with records, civil society, memory and follow-up (seed 4)"
members = "all"
first_year = {START}
interval = 1
obligation = 0
precision = 0.3
delegation = 0.3
rights_agenda = 0.8
agenda_asylum = 1
agenda_labour = 1
agenda_trafficking = 1
agenda_enforcement = 0.5
transparency = 0.9
civil_society = 0.7
memory = 0.9
power_exponent = 0.3
consensus_quantile = 0.5
security_lens = 0.2
trust0 = 0.5

'''


def regular_hld():
    return f'''[forums.HLD]
first_year = 2013
interval = 5
last_year = 2300

[[forums.HLD.timeline]]
year = 2014
rights_agenda = 0.6
transparency = 0.9
civil_society = 0.5
memory = 0.8

'''


def iom_mandate():
    return timeline(RCPS + ["GFMD"], START, rights_transfer=0.1, security_lens=0.2, rights_agenda=0.4)


def firewalls():
    return f'''[[events]]
kind = "firewall"
year = {START}
members = "all"
level = 0.8

'''


def civil_society():
    return timeline(FORUMS, START, civil_society=0.7)


def legal_channels():
    return f'''[[events]]
kind = "legal_channels"
year = {START}
members = "all"
level = 0.6

'''


FILES = {
    "informal_only": (
        "Informal only: the forums of the status quo and no binding instrument at all.",
        "3.2 (global migration governance is conducted mainly outside the UN framework); 2 (a complex normative framework that States avoid committing to).",
        "Every treaty of the status quo is disabled; forums are unchanged.",
        "".join(f"[treaties.{t}]\nenabled = false\n\n" for t in TREATIES),
    ),
    "no_forums": (
        "No forums: States alone with their treaties, the counterfactual that shows what forums change.",
        "3.2.1 (the GFMD as a trust-building mechanism); 3.2.3.2 (RCPs): what happens without them.",
        "Every forum of the status quo is disabled; treaties keep their settings but no forum's trust\nenters ratification.",
        "".join(f"[forums.{f}]\nenabled = false\n\n" for f in FORUMS)
        + "".join(f'[treaties.{t}]\ntrust_forum = ""\n\n' for t in TREATIES if t in ("ICRMW", "ILO_C97", "ILO_C143")),
    ),
    "un_platform": (
        "Proposal: dialogue brought inside the UN, a standing platform on migrants' rights with records, civil society, memory and follow-up.",
        "4 ('there is a need to bring the migration dialogue inside the UN'; 'the establishment within the UN of a standing platform on the human rights of migrants'; accountability needs records of proceedings).",
        f"A global forum of all UN members from {START}: rights agenda 0.8, transparency 0.9, civil society\n0.7, memory 0.9 (a standing secretariat with follow-up), security lens 0.2, little destination\ndominance (power exponent 0.3).",
        un_platform(),
    ),
    "regular_hld": (
        "Proposal: regular High-Level Dialogues at the General Assembly every five years, with follow-up.",
        "4 ('holding regular High Level Dialogues at the General Assembly, for example every five years').",
        "The HLD meets every 5 years from 2013 (2018, 2023, ...); from 2014 its proceedings are recorded\n(transparency 0.9), rights lead its agenda (0.6), civil society takes part (0.5) and a follow-up\nremembers the last statement (memory 0.8).",
        regular_hld(),
    ),
    "iom_protection_mandate": (
        "Proposal: secretariats with a protection mandate (IOM inside the UN, guided by the core human-rights treaties).",
        "4 ('IOM would need to be given a formal legal protection mandate, guided by the core international human rights treaties'); 3.2.2 (IOM services the RCPs).",
        f"From {START} every RCP and the GFMD (whose secretariats IOM or ICMPD run) gets rights transfer\n0.1 (the secretariat pulls members up toward the anchor), a security lens down to 0.2 and a\nrights agenda of 0.4.",
        iom_mandate(),
    ),
    "firewalls": (
        "Proposal: firewalls between public services and immigration enforcement in every State.",
        "4 ('Firewalls between public services ... and immigration enforcement should be implemented ... This will also allow doctors, teachers, social workers ... to speak up in migration debates, thus carrying the voice of migrants').",
        f"A firewall of level 0.8 in every State from {START}: migrants' voice lowers domestic pressure in\nproportion to the migrant share of the population.",
        firewalls(),
    ),
    "civil_society_capacity": (
        "Proposal: capacity for civil society, including trade unions, to take part in every forum.",
        "4 ('Capacity-building is also required among civil society organisations, including trade unions'); 3.2.1 (limited access of civil society loses expertise on human rights and monitoring).",
        f"From {START} civil-society access is 0.7 in every forum (GFMD, HLD and RCPs).",
        civil_society(),
    ),
    "open_legal_channels": (
        "Proposal: open legal channels of entry in every State.",
        "4 ('opening legal channels of entry may prove to be more efficient and less costly than punitive measures, and may also contribute to a decrease in smuggling activities and a reduction in irregular migration').",
        f"From {START} no State's legal-channel openness falls below 0.6 (States may open further).",
        legal_channels(),
    ),
    "all_proposals": (
        "All the seed's proposals together: UN platform, regular HLDs, protection mandate, firewalls, civil society, legal channels.",
        "4 (the conclusion's proposals taken together).",
        "The settings of un_platform, regular_hld, iom_protection_mandate, firewalls,\ncivil_society_capacity and open_legal_channels at once.",
        un_platform()
        + regular_hld().replace(
            "memory = 0.8\n", "memory = 0.8\n"
        )
        + timeline(RCPS + ["GFMD"], START, rights_transfer=0.1, security_lens=0.2, rights_agenda=0.4, civil_society=0.7)
        + timeline(["HLD"], START + 1, civil_society=0.7)
        + f'''[[events]]
kind = "firewall"
year = {START}
members = "all"
level = 0.8

[[events]]
kind = "legal_channels"
year = {START}
members = "all"
level = 0.6

''',
    ),
    "bilateral_turn": (
        "Stress: the bilateral turn, deals replacing multilateral dialogue.",
        "3.2.3.3 ('a considerable increase in bilateral agreements on migration ... visas, readmission, knowledge-sharing, labour migration'; readmission agreements 'the result of private negotiations ... with very little external oversight'); 3.2.1 (the GFMD).",
        f"The GFMD holds its last summit in {START - 1}; from {START} pairs of States consider deals twice as\noften (0.4 a year), sign them more cheaply (fixed cost 0) and negotiate them privately\n(transparency 0.1: their human-rights effect is rarely seen).",
        f'''[forums.GFMD]
last_year = {START - 1}

[[bilateral.timeline]]
year = {START}
consider_prob = 0.4
fixed_cost = 0.0
transparency = 0.1

''',
    ),
    "refugee_regime_under_strain": (
        "Stress: the refugee regime under strain, securitisation, 'safe country' rules and interception.",
        "2.2 ('the global refugee regime has quickly reached its limits ... exacerbated by the security logic'; 'The \"safe country\" notion, accelerated time-lines and reduced procedural guarantees'; 'systematic interception and interdiction mechanisms have resulted in the deterioration of asylum seekers' rights'; UNHCR 'politically responsive' to States' concerns).",
        f"From {START}: the Refugee Convention binds less (precision 0.4 to 0.2: 'safe country' rules\nnarrow what it requires) and UNHCR's supervision weakens (delegation 0.3 to 0.15);\nhigh-income States' hostility rises by 0.1 (securitisation) and they hold enforcement at\nleast at 0.75 (interception and interdiction); the RCPs judge practice by a security lens of 0.9.",
        f'''[[treaties.Refugee_Convention.timeline]]
year = {START}
precision = 0.2
delegation = 0.15

[[events]]
kind = "pressure"
year = {START}
members = {{ income = "high" }}
shift = 0.1

[[events]]
kind = "enforcement"
year = {START}
members = {{ income = "high" }}
level = 0.75

'''
        + timeline(RCPS, START, security_lens=0.9),
    ),
    "responsibility_sharing": (
        "Variant: responsibility sharing in the refugee regime, resettlement among the parties by capacity.",
        "2.2 ('The lack of solidarity and responsibility-sharing between States has exacerbated the problems of protection ... the number of resettled international protection beneficiaries remains alarmingly low'; the Comprehensive Plan of Action resettled 2.5 million Indochinese refugees).",
        f"From {START} the parties to the Refugee Convention share responsibility: 30% of the refugees\nrecognised in a party are resettled among all parties in proportion to their capacity (income\ntimes population), so that lowering protection no longer sends the burden elsewhere.",
        f'''[[treaties.Refugee_Convention.timeline]]
year = {START}
sharing = 0.3

''',
    ),
    "crisis_2015": (
        "Stress: the 2015 displacement crisis from Western Asia that sent about one million people to Europe.",
        "1 and 2.2 (the 2015 arrivals in Europe; the refugee regime under strain).",
        "A crisis of magnitude 60 in Western Asia in 2015 (on top of random crises): forced outflows of\nthe region multiplied by 61 that year, decaying by 40% a year. Magnitude 60 gives about one\nmillion extra forced arrivals in Europe in 2015 (paired against the status quo, 20 replications).",
        '''[[events]]
kind = "crisis"
year = 2015
region = "Western Asia"
magnitude = 60

''',
    ),
    "populist_wave": (
        "Stress: a populist wave, domestic hostility to immigration rising everywhere.",
        "1 and 3.2.1 (the toxicity of national debates about migration).",
        f"Baseline hostility rises by 0.15 in every State in {START} and by another 0.1 in 2022.",
        f'''[[events]]
kind = "pressure"
year = {START}
members = "all"
shift = 0.15

[[events]]
kind = "pressure"
year = 2022
members = "all"
shift = 0.1

''',
    ),
    "destination_dominance": (
        "Stress: destination dominance in the Regional Consultative Processes.",
        "3.2.3.2 (RCPs driven by destination States, lowest common denominator, transfer of enforcement know-how).",
        f"From {START} every RCP gives voice by power cubed (power exponent 3), judges practice by its\nsecurity lens 0.9 and transfers enforcement capacity at 0.2 a meeting.",
        timeline(RCPS, START, power_exponent=3, security_lens=0.9, capacity_transfer=0.2),
    ),
}

for name, (description, passage, mapping, body) in FILES.items():
    with open(f"scenarios/{name}.toml", "w") as f:
        f.write(header(name, description, passage, mapping) + body.rstrip("\n") + "\n")
print("wrote", len(FILES), "scenarios")
