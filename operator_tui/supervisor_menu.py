"""The supervisor's menu, in the order it is read: campaigns, the wallboard, the protocols.

Listed in ``screens.supervisor.SUPERVISOR_MODULES``; registering here rather than in each
screen module keeps the order one place says (the campaigns screen imports the other two).
"""

from __future__ import annotations

from operator_tui.i18n import N_
from operator_tui.screens.campaigns import CampaignsScreen
from operator_tui.screens.protocols import ProtocolsScreen
from operator_tui.screens.supervisor import SupervisorEntry, register
from operator_tui.screens.wallboard import WallboardScreen

register(SupervisorEntry("campaigns", N_("Campaigns"), lambda ctx, user: CampaignsScreen(ctx, user)))
register(SupervisorEntry("wallboard", N_("Wallboard"), lambda ctx, user: WallboardScreen(ctx, user)))
register(SupervisorEntry("protocols", N_("Protocols"), lambda ctx, user: ProtocolsScreen(ctx, user)))
